//! Read-only web pages at drive.google.com's paths (`/drive/folders/{id}`,
//! `/file/d/{id}/view`), so that "Open in Drive" in the demo shows the file on the emulator
//! instead of a Google page that cannot know it. No sign-in: the emulator listens on
//! 127.0.0.1 and holds test or demo data only.

use axum::extract::{Path, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::model::FileRecord;
use crate::state::State;
use crate::AppState;

const FOLDER_MIME: &str = "application/vnd.google-apps.folder";

/// The pages' routes.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route(
            "/drive/folders/{id}",
            get(
                |AxState(app): AxState<AppState>, Path(id): Path<String>| async move {
                    let s = app.lock();
                    page(s.file(&id).map(|f| folder_page(&s, f)))
                },
            ),
        )
        .route(
            "/file/d/{id}/view",
            get(
                |AxState(app): AxState<AppState>, Path(id): Path<String>| async move {
                    let s = app.lock();
                    page(s.file(&id).map(|f| file_page(&s, f)))
                },
            ),
        )
}

/// `text` with HTML's special characters escaped (names may hold any character).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(body: Option<(String, String)>) -> Response {
    let (status, title, body) = match body {
        Some((title, body)) => (StatusCode::OK, title, body),
        None => (
            StatusCode::NOT_FOUND,
            "Not found".to_owned(),
            "<p>No file with this id on the emulator.</p>".to_owned(),
        ),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} - drive-emulator</title>\
         <style>body{{font:15px system-ui,sans-serif;margin:2em;max-width:50em}}td{{padding:.2em 1em .2em 0}}</style></head>\
         <body><p><small>drive-emulator: the Drive of the drivesync demo</small></p><h1>{t}</h1>{body}</body></html>",
        t = escape(&title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        html,
    )
        .into_response()
}

fn link(f: &FileRecord) -> String {
    let href = if f.mime_type == FOLDER_MIME {
        format!("/drive/folders/{}", f.id)
    } else {
        format!("/file/d/{}/view", f.id)
    };
    format!("<a href=\"{}\">{}</a>", escape(&href), escape(&f.name))
}

fn place(s: &State, f: &FileRecord) -> String {
    let path = s
        .path_of(&f.id)
        .unwrap_or_else(|| "(outside My Drive)".into());
    let up = f
        .parents
        .first()
        .and_then(|p| s.file(p))
        .map(|p| format!(" in {}", link(p)))
        .unwrap_or_default();
    let trashed = if f.trashed { " (in the trash)" } else { "" };
    format!("<p>{}{up}{trashed}</p>", escape(&path))
}

fn folder_page(s: &State, f: &FileRecord) -> (String, String) {
    let root = f.parents.is_empty();
    let title = if root {
        "My Drive".to_owned()
    } else {
        f.name.clone()
    };
    let mut kids: Vec<&FileRecord> = s.children(&f.id).filter(|c| !c.trashed).collect();
    kids.sort_by(|a, b| {
        (a.mime_type != FOLDER_MIME, &a.name).cmp(&(b.mime_type != FOLDER_MIME, &b.name))
    });
    let mut body = if root { String::new() } else { place(s, f) };
    if kids.is_empty() {
        body.push_str("<p>This folder is empty.</p>");
    } else {
        body.push_str("<table><tr><th>Name</th><th>Size</th><th>Modified</th></tr>");
        for k in kids {
            let size = k
                .content
                .as_ref()
                .map(|c| c.size.to_string())
                .unwrap_or_default();
            body.push_str(&format!(
                "<tr><td>{}</td><td>{size}</td><td>{}</td></tr>",
                link(k),
                k.modified_time.format("%Y-%m-%d %H:%M")
            ));
        }
        body.push_str("</table>");
    }
    (title, body)
}

fn file_page(s: &State, f: &FileRecord) -> (String, String) {
    let mut rows = vec![("Type", f.mime_type.clone())];
    if let Some(c) = &f.content {
        rows.push(("Size", format!("{} bytes", c.size)));
        rows.push(("MD5", c.md5.clone()));
    }
    rows.push(("Modified", f.modified_time.to_rfc3339()));
    rows.push(("Version", f.version.to_string()));
    rows.push(("Id", f.id.clone()));
    let mut body = place(s, f);
    body.push_str("<table>");
    for (k, v) in rows {
        body.push_str(&format!("<tr><td>{k}</td><td>{}</td></tr>", escape(&v)));
    }
    body.push_str("</table>");
    (f.name.clone(), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_inject_markup() {
        assert_eq!(
            escape(r#"<b>"x" & 'y'</b>"#),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }
}
