// Icon path data (16x16, stroked with currentColor), drawn with dom.icon().
export const ICONS = {
  account: "M8 8.5a3 3 0 1 0 0-6 3 3 0 0 0 0 6ZM2.5 14.5c.6-2.8 2.8-4.5 5.5-4.5s4.9 1.7 5.5 4.5",
  pairs: "M2.5 5.5h10M10 3l2.5 2.5L10 8M13.5 10.5h-10M6 8l-2.5 2.5L6 13",
  status: "M1.5 8.5h3l2-5 3 9 2-4h3",
  activity: "M5.5 4h8M5.5 8h8M5.5 12h8M2.5 4h.5M2.5 8h.5M2.5 12h.5",
  conflicts: "M8 2 14.5 13.5h-13L8 2ZM8 6.5v3M8 11.5v.5",
  settings: "M2 4.5h6.5M11.5 4.5H14M2 11.5h2.5M7.5 11.5H14M10 3v3M6 10v3",
  folder: "M1.5 4.5v8h13v-6.5H7.5L6 4H1.5Z",
  up: "M8 13.5v-11M4 6.5l4-4 4 4",
  down: "M8 2.5v11M4 9.5l4 4 4-4",
  chevron: "M6 3.5 10.5 8 6 12.5",
} as const;
