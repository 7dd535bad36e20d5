//! `mode=static`: Go's `http.FileServer(http.Dir(static_path))`, as of-watchdog serves a site:
//! `/dir` redirects to `dir/`, `/x/index.html` to `./`, a directory without `index.html` is
//! listed, a file that cannot be opened is 403 and a missing one 404, with `Last-Modified`,
//! `If-Modified-Since` and single byte ranges.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::SystemTime;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};

use crate::{Reply, RequestBody, empty, text};

pub struct FileServer {
    root: PathBuf,
}

impl FileServer {
    pub fn new(root: &str) -> FileServer {
        FileServer {
            root: PathBuf::from(root),
        }
    }

    pub async fn serve(&self, request: &Request<RequestBody>) -> Reply {
        let Some(decoded) = percent_decode(request.uri().path()) else {
            let mut reply = text(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=utf-8",
                "400 Bad Request",
            );
            reply
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return reply;
        };
        let url_path = if decoded.starts_with('/') {
            decoded
        } else {
            format!("/{decoded}")
        };
        let query = request.uri().query();
        if url_path.ends_with("/index.html") {
            return redirect("./", query);
        }
        let name = clean_path(&url_path);
        let full_path = self.root.join(name.trim_matches('/'));
        let metadata = match open(&full_path).await {
            Ok(metadata) => metadata,
            Err(error) => return http_error(&error),
        };
        let mut file = full_path;
        let mut metadata = metadata;
        if metadata.is_dir() {
            if !url_path.ends_with('/') {
                return redirect(&format!("{}/", base(&url_path)), query);
            }
            let index = file.join("index.html");
            if let Ok(found) = open(&index).await {
                file = index;
                metadata = found;
            }
        } else if url_path.ends_with('/') {
            return redirect(&format!("../{}", base(&url_path)), query);
        }
        let modified = metadata.modified().ok();
        if not_modified(request, modified) {
            let mut reply = empty(StatusCode::NOT_MODIFIED);
            set_last_modified(&mut reply, modified);
            return reply;
        }
        if metadata.is_dir() {
            let mut reply = match list(&file).await {
                Ok(listing) => text(StatusCode::OK, "text/html; charset=utf-8", listing),
                Err(_) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain; charset=utf-8",
                    "Error reading directory\n",
                ),
            };
            set_last_modified(&mut reply, modified);
            return reply;
        }
        let content = match tokio::fs::read(&file).await {
            Ok(content) => content,
            Err(error) => return http_error(&error),
        };
        let mut reply = content_reply(request, &file, content);
        if reply.status() != StatusCode::RANGE_NOT_SATISFIABLE {
            set_last_modified(&mut reply, modified);
        }
        reply
    }
}

/// Opening the file or directory, as `http.Dir.Open` then `Stat` do: a directory that cannot be
/// read fails here too (403), even when it holds an `index.html`.
async fn open(path: &std::path::Path) -> std::io::Result<std::fs::Metadata> {
    let file = tokio::fs::File::open(path).await?;
    file.metadata().await
}

fn http_error(error: &std::io::Error) -> Reply {
    let (status, message) = match error.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory => {
            (StatusCode::NOT_FOUND, "404 page not found\n")
        }
        ErrorKind::PermissionDenied => (StatusCode::FORBIDDEN, "403 Forbidden\n"),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error\n",
        ),
    };
    let mut reply = text(status, "text/plain; charset=utf-8", message);
    reply.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    reply
}

fn redirect(location: &str, query: Option<&str>) -> Reply {
    let location = match query {
        Some(query) if !query.is_empty() => format!("{location}?{query}"),
        _ => location.to_owned(),
    };
    let mut reply = empty(StatusCode::MOVED_PERMANENTLY);
    if let Ok(value) = HeaderValue::from_str(&location) {
        reply.headers_mut().insert(header::LOCATION, value);
    }
    reply
}

/// The file's bytes, its type, and a single byte range if one was asked for.
fn content_reply(
    request: &Request<RequestBody>,
    file: &std::path::Path,
    content: Vec<u8>,
) -> Reply {
    let kind = file
        .extension()
        .and_then(|e| e.to_str())
        .and_then(type_by_extension)
        .unwrap_or_else(|| sniff(&content));
    let size = content.len() as u64;
    let head = request.method() == Method::HEAD;
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let (status, body, content_range) = match range.map(|r| parse_range(r, size)) {
        None | Some(Range::Whole) => (StatusCode::OK, Bytes::from(content), None),
        Some(Range::Unsatisfiable) => {
            let mut reply = text(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "text/plain; charset=utf-8",
                "invalid range: failed to overlap\n",
            );
            reply.headers_mut().insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            reply.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("a range"),
            );
            return reply;
        }
        Some(Range::Part(start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            Bytes::from(content).slice(start as usize..=end as usize),
            Some(format!("bytes {start}-{end}/{size}")),
        ),
    };
    let length = body.len();
    let mut reply = text(status, kind, if head { Bytes::new() } else { body });
    let headers = reply.headers_mut();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(content_range) = content_range {
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&content_range).expect("a range"),
        );
    }
    if head {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    reply
}

enum Range {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range; several ranges (multipart answers in Go) are answered whole here.
fn parse_range(value: &str, size: u64) -> Range {
    let Some(spec) = value.strip_prefix("bytes=") else {
        return Range::Unsatisfiable;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Range::Unsatisfiable;
    };
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        let Ok(suffix) = end.parse::<u64>() else {
            return Range::Unsatisfiable;
        };
        if suffix == 0 || size == 0 {
            return Range::Unsatisfiable;
        }
        return Range::Part(size.saturating_sub(suffix), size - 1);
    }
    let Ok(start) = start.parse::<u64>() else {
        return Range::Unsatisfiable;
    };
    if start >= size {
        return Range::Unsatisfiable;
    }
    let end = match end {
        "" => size - 1,
        end => match end.parse::<u64>() {
            Ok(end) if end >= start => end.min(size - 1),
            _ => return Range::Unsatisfiable,
        },
    };
    Range::Part(start, end)
}

const HTTP_DATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

fn set_last_modified(reply: &mut Reply, modified: Option<SystemTime>) {
    let Some(stamp) = modified.and_then(|m| jiff::Timestamp::try_from(m).ok()) else {
        return;
    };
    if stamp.as_second() == 0 {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&stamp.strftime(HTTP_DATE).to_string()) {
        reply.headers_mut().insert(header::LAST_MODIFIED, value);
    }
}

fn not_modified(request: &Request<RequestBody>, modified: Option<SystemTime>) -> bool {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return false;
    }
    let Some(since) = request
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        // Go does not check the weekday.
        .and_then(|v| v.get(5..))
        .and_then(|v| jiff::civil::DateTime::strptime("%d %b %Y %H:%M:%S GMT", v).ok())
        .and_then(|v| v.to_zoned(jiff::tz::TimeZone::UTC).ok())
    else {
        return false;
    };
    let Some(modified) = modified.and_then(|m| jiff::Timestamp::try_from(m).ok()) else {
        return false;
    };
    modified.as_second() <= since.timestamp().as_second()
}

/// Go's directory listing: every entry, sorted, directories with a trailing slash.
async fn list(dir: &std::path::Path) -> std::io::Result<String> {
    let mut entries = tokio::fs::read_dir(dir).await?;
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().await.is_ok_and(|t| t.is_dir()) {
            name.push('/');
        }
        names.push(name);
    }
    names.sort();
    let mut page = String::from(
        "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n",
    );
    for name in names {
        let href = escape_path(&name);
        let href = if href.split('/').next().is_some_and(|s| s.contains(':')) {
            format!("./{href}")
        } else {
            href
        };
        page.push_str(&format!("<a href=\"{href}\">{}</a>\n", escape_html(&name)));
    }
    page.push_str("</pre>\n");
    Ok(page)
}

pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Go's `url.URL{Path: p}.String()` escaping of a path.
fn escape_path(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'/'
            | b'$'
            | b'&'
            | b'+'
            | b','
            | b':'
            | b';'
            | b'='
            | b'@'
            | b'!'
            | b'\''
            | b'('
            | b')'
            | b'*' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `path.Clean` for a rooted path, keeping a trailing slash as `ServeMux` does.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let mut clean = format!("/{}", parts.join("/"));
    if path.ends_with('/') && clean != "/" {
        clean.push('/');
    }
    clean
}

fn base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or("/")
}

/// Go's built-in table (`mime.TypeByExtension` without system files).
fn type_by_extension(extension: &str) -> Option<&'static str> {
    Some(match extension.to_ascii_lowercase().as_str() {
        "avif" => "image/avif",
        "css" => "text/css; charset=utf-8",
        "gif" => "image/gif",
        "htm" | "html" => "text/html; charset=utf-8",
        "jpeg" | "jpg" => "image/jpeg",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "wasm" => "application/wasm",
        "webp" => "image/webp",
        "xml" => "text/xml; charset=utf-8",
        _ => return None,
    })
}

/// A short form of Go's `http.DetectContentType`.
fn sniff(content: &[u8]) -> &'static str {
    let head = &content[..content.len().min(512)];
    let start = head
        .iter()
        .position(|b| !b" \t\n\x0c\r".contains(b))
        .unwrap_or(head.len());
    let trimmed = &head[start..];
    let upper: Vec<u8> = trimmed
        .iter()
        .take(16)
        .map(u8::to_ascii_uppercase)
        .collect();
    for tag in [
        &b"<!DOCTYPE HTML"[..],
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ] {
        if upper.starts_with(tag)
            && upper
                .get(tag.len())
                .is_some_and(|b| *b == b' ' || *b == b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if trimmed.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if head.starts_with(b"%PDF-") {
        return "application/pdf";
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return "image/png";
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return "image/gif";
    }
    if head.starts_with(b"\xff\xd8\xff") {
        return "image/jpeg";
    }
    let binary = head
        .iter()
        .any(|b| matches!(b, 0x00..=0x08 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f));
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_as_go_cleans_them() {
        assert_eq!(clean_path("/"), "/");
        assert_eq!(clean_path("//a"), "/a");
        assert_eq!(clean_path("/a/../b/"), "/b/");
        assert_eq!(clean_path("/../x"), "/x");
        assert_eq!(clean_path("/a/./b"), "/a/b");
    }

    #[test]
    fn ranges_are_read_as_go_reads_them() {
        assert!(matches!(parse_range("bytes=0-3", 10), Range::Part(0, 3)));
        assert!(matches!(parse_range("bytes=-4", 10), Range::Part(6, 9)));
        assert!(matches!(parse_range("bytes=8-", 10), Range::Part(8, 9)));
        assert!(matches!(parse_range("bytes=10-", 10), Range::Unsatisfiable));
        assert!(matches!(parse_range("bytes=0-1,3-4", 10), Range::Whole));
    }

    #[test]
    fn content_is_sniffed() {
        assert_eq!(sniff(b"<!doctype html><p>"), "text/html; charset=utf-8");
        assert_eq!(sniff(b"hello"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"\x00\x01"), "application/octet-stream");
    }
}
