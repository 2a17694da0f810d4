//! A streaming `multipart/related` parser for `uploadType=multipart`: fed the body chunk by chunk,
//! it yields part headers and part data without holding a part whole in memory. Accepts LF-only
//! line ends (google-api-python-client) and CRLF (Node, most others).

use bytes::{Buf, Bytes, BytesMut};

/// What the parser found in the input so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A part starts; its headers, names lower-cased.
    Headers(Vec<(String, String)>),
    /// Some bytes of the current part's body.
    Data(Bytes),
    /// The current part ended.
    PartEnd,
    /// The closing delimiter was seen.
    End,
}

/// The body is not valid multipart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// The body ended before the closing delimiter.
    #[error("multipart body ended before its closing boundary")]
    Truncated,
    /// A part's headers are malformed or too long.
    #[error("malformed multipart part headers")]
    BadHeaders,
    /// Something other than a line end or `--` follows a boundary.
    #[error("malformed multipart boundary line")]
    BadBoundary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    AfterBoundary,
    Headers,
    Body,
    End,
}

const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The parser. Feed it with [`Parser::feed`], then call [`Parser::finish`].
#[derive(Debug)]
pub struct Parser {
    /// `\n--boundary`
    delim: Vec<u8>,
    buf: BytesMut,
    state: State,
    headers: Vec<(String, String)>,
    scanned: usize,
    /// Line ends are CRLF (learnt from the first boundary line). Only then does a `\r` before
    /// a delimiter belong to the delimiter; in an LF-only body it is the part's last byte.
    crlf: Option<bool>,
}

impl Parser {
    /// A parser for parts separated by `--boundary`.
    pub fn new(boundary: &str) -> Self {
        let mut delim = b"\n--".to_vec();
        delim.extend_from_slice(boundary.as_bytes());
        // The first boundary may start the body with no line end before it.
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"\n");
        Self {
            delim,
            buf,
            state: State::Preamble,
            headers: Vec::new(),
            scanned: 0,
            crlf: None,
        }
    }

    /// Adds input and returns the events it completes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>, MultipartError> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        loop {
            let progressed = match self.state {
                State::Preamble => self.preamble(),
                State::AfterBoundary => self.after_boundary(&mut out)?,
                State::Headers => self.header_line(&mut out)?,
                State::Body => self.body(&mut out),
                State::End => {
                    self.buf.clear();
                    false
                }
            };
            if !progressed {
                return Ok(out);
            }
        }
    }

    /// Checks that the body was complete.
    pub fn finish(&self) -> Result<(), MultipartError> {
        if self.state == State::End {
            Ok(())
        } else {
            Err(MultipartError::Truncated)
        }
    }

    fn find_delim(&mut self) -> Option<usize> {
        let d = &self.delim;
        let from = self.scanned;
        let pos = self.buf[from..]
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .map(|(i, _)| from + i)
            .find(|&i| {
                self.buf.len() - i < d.len() && d.starts_with(&self.buf[i..])
                    || self.buf[i..].starts_with(d)
            });
        match pos {
            Some(i) if self.buf.len() - i >= d.len() => Some(i),
            Some(i) => {
                self.scanned = i;
                None
            }
            None => {
                self.scanned = self.buf.len();
                None
            }
        }
    }

    fn preamble(&mut self) -> bool {
        match self.find_delim() {
            Some(i) => {
                self.buf.advance(i + self.delim.len());
                self.scanned = 0;
                self.state = State::AfterBoundary;
                true
            }
            None => {
                let keep = self.buf.len() - self.scanned;
                self.buf.advance(self.buf.len() - keep);
                self.scanned = 0;
                false
            }
        }
    }

    fn after_boundary(&mut self, out: &mut Vec<Event>) -> Result<bool, MultipartError> {
        if self.buf.len() < 2 {
            return Ok(false);
        }
        if self.buf.starts_with(b"--") {
            out.push(Event::End);
            self.state = State::End;
            return Ok(true);
        }
        let pad = self
            .buf
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let Some(&next) = self.buf.get(pad) else {
            return Ok(false);
        };
        match next {
            b'\n' => {
                self.crlf.get_or_insert(false);
                self.buf.advance(pad + 1)
            }
            b'\r' => match self.buf.get(pad + 1) {
                None => return Ok(false),
                Some(b'\n') => {
                    self.crlf.get_or_insert(true);
                    self.buf.advance(pad + 2)
                }
                Some(_) => return Err(MultipartError::BadBoundary),
            },
            _ => return Err(MultipartError::BadBoundary),
        }
        self.headers.clear();
        self.state = State::Headers;
        Ok(true)
    }

    fn header_line(&mut self, out: &mut Vec<Event>) -> Result<bool, MultipartError> {
        let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
            if self.buf.len() > MAX_HEADER_BYTES {
                return Err(MultipartError::BadHeaders);
            }
            return Ok(false);
        };
        let line = self.buf.split_to(nl + 1);
        let line = line[..nl].strip_suffix(b"\r").unwrap_or(&line[..nl]);
        if line.is_empty() {
            out.push(Event::Headers(std::mem::take(&mut self.headers)));
            // The delimiter search needs the line end that precedes it; an empty body has none.
            let mut rest = BytesMut::with_capacity(self.buf.len() + 1);
            rest.extend_from_slice(b"\n");
            rest.extend_from_slice(&self.buf);
            self.buf = rest;
            self.scanned = 0;
            self.state = State::Body;
            return Ok(true);
        }
        let text = std::str::from_utf8(line).map_err(|_| MultipartError::BadHeaders)?;
        let (name, value) = text.split_once(':').ok_or(MultipartError::BadHeaders)?;
        if self.headers.len() > 64 {
            return Err(MultipartError::BadHeaders);
        }
        self.headers
            .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        Ok(true)
    }

    fn body(&mut self, out: &mut Vec<Event>) -> bool {
        // buf[0] is the line end that ended the headers or a byte of data held back; data starts at 1.
        match self.find_delim() {
            Some(i) => {
                let end = if i > 0 && self.buf[i - 1] == b'\r' && self.crlf == Some(true) {
                    i - 1
                } else {
                    i
                };
                if end > 1 {
                    out.push(Event::Data(self.buf[1..end].to_vec().into()));
                }
                out.push(Event::PartEnd);
                self.buf.advance(i + self.delim.len());
                self.scanned = 0;
                self.state = State::AfterBoundary;
                true
            }
            None => {
                // Hold back a possible "\r" + partial delimiter at the end.
                let safe = self.scanned.saturating_sub(1).max(1);
                if safe > 1 {
                    out.push(Event::Data(self.buf[1..safe].to_vec().into()));
                    let last = self.buf[safe - 1];
                    self.buf.advance(safe - 1);
                    self.buf[0] = last;
                    self.scanned = self.scanned + 1 - safe;
                }
                false
            }
        }
    }
}

/// The `boundary` parameter of a `multipart/related` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/related")
        && !kind.trim().eq_ignore_ascii_case("multipart/mixed")
    {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Part = (Vec<(String, String)>, Vec<u8>);

    /// Parts as (headers, body), data chunks merged.
    fn parse_all(boundary: &str, chunks: &[&[u8]]) -> Result<Vec<Part>, MultipartError> {
        let mut p = Parser::new(boundary);
        let mut parts: Vec<Part> = Vec::new();
        for c in chunks {
            for ev in p.feed(c)? {
                match ev {
                    Event::Headers(h) => parts.push((h, Vec::new())),
                    Event::Data(d) => parts.last_mut().unwrap().1.extend_from_slice(&d),
                    Event::PartEnd | Event::End => {}
                }
            }
        }
        p.finish()?;
        Ok(parts)
    }

    fn body(nl: &str, b: &str, meta: &str, media: &[u8]) -> Vec<u8> {
        let mut v = format!("--{b}{nl}Content-Type: application/json; charset=UTF-8{nl}{nl}{meta}{nl}--{b}{nl}Content-Type: text/plain{nl}{nl}").into_bytes();
        v.extend_from_slice(media);
        v.extend_from_slice(format!("{nl}--{b}--{nl}").as_bytes());
        v
    }

    #[test]
    fn lf_and_crlf_bodies_parse_alike() {
        for nl in ["\n", "\r\n"] {
            let parts = parse_all(
                "===b==",
                &[&body(nl, "===b==", r#"{"name":"a"}"#, b"line1\r\nline2\n")],
            )
            .unwrap();
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[0].1, br#"{"name":"a"}"#);
            assert_eq!(
                parts[1].0,
                vec![("content-type".into(), "text/plain".into())]
            );
            assert_eq!(parts[1].1, b"line1\r\nline2\n");
        }
    }

    #[test]
    fn lf_body_keeps_a_trailing_carriage_return_of_the_media() {
        let parts = parse_all("x", &[&body("\n", "x", "{}", b"data\r")]).unwrap();
        assert_eq!(parts[1].1, b"data\r");
    }

    #[test]
    fn empty_media_part() {
        let parts = parse_all("x", &[&body("\r\n", "x", "{}", b"")]).unwrap();
        assert_eq!(parts[1].1, b"");
    }

    #[test]
    fn truncated_body_is_an_error() {
        let full = body("\r\n", "x", "{}", b"data");
        assert_eq!(
            parse_all("x", &[&full[..full.len() - 6]]),
            Err(MultipartError::Truncated)
        );
    }

    #[test]
    fn boundary_parameter() {
        assert_eq!(
            boundary("multipart/related; boundary=\"===abc==\""),
            Some("===abc==".into())
        );
        assert_eq!(
            boundary("multipart/related;boundary=foo"),
            Some("foo".into())
        );
        assert_eq!(boundary("application/json"), None);
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_parts(
            media in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'-'), Just(b'x'), any::<u8>()], 0..300),
            crlf in any::<bool>(),
            cuts in proptest::collection::vec(0usize..400, 0..8),
        ) {
            let b = "b0undary";
            let nl = if crlf { "\r\n" } else { "\n" };
            let full = body(nl, b, r#"{"name":"n"}"#, &media);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (full.len() + 1)).collect();
            cuts.sort();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for c in cuts { chunks.push(&full[prev..c]); prev = c; }
            chunks.push(&full[prev..]);
            let parts = parse_all(b, &chunks).unwrap();
            prop_assert_eq!(parts.len(), 2);
            prop_assert_eq!(&parts[1].1, &media);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), b in "[a-z]{1,5}") {
            let _ = parse_all(&b, &[&data]);
        }
    }
}
