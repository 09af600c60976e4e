//! The HTTP side of the Hub: revision resolution, tree listing, file metadata (`HEAD` on
//! `resolve`), ranged and streamed `GET`s, and the mapping of Hub error responses
//! (`X-Error-Code`) to messages that say what to do.
//!
//! Redirects: `ureq` forwards `Authorization` only to the same host, so a `resolve` that redirects
//! to a CDN never carries the token (as in `huggingface_hub`). `HEAD` requests follow only
//! same-origin redirects (renamed repos) and read the file metadata from the last Hub response.

use std::io::Read;
use std::time::Duration;

use serde::Deserialize;
use ureq::http::{HeaderMap, Response, StatusCode};

use super::{HubSettings, Token, TokenSource};
use crate::error::{Error, Result};

/// One file of a repo at a commit, as the tree API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    pub path: String,
    /// Size of the file itself (the LFS object for LFS files).
    pub size: u64,
    /// The git blob id: the cache's blob name for files stored in git.
    pub blob_id: String,
    /// sha256 of LFS files: their blob name in the cache, and the checksum verified on download.
    pub lfs_sha256: Option<String>,
    /// Xet content hash, when the Hub reports one (kept for the shared tree cache only).
    pub xet_hash: Option<String>,
}

impl RemoteFile {
    /// The name of the file's blob in the cache: what `huggingface_hub` derives from the `ETag`
    /// (`X-Linked-Etag` for LFS files).
    pub fn etag(&self) -> &str {
        self.lfs_sha256.as_deref().unwrap_or(&self.blob_id)
    }
}

/// What `HEAD …/resolve/<commit>/<file>` says about a file.
#[derive(Clone, Debug)]
pub struct FileMeta {
    pub etag: String,
    pub commit: String,
    pub size: Option<u64>,
    /// Where to `GET` the bytes: the Hub URL, or the CDN it redirects to.
    pub location: String,
}

/// The Hub's answer to `GET /api/models/<repo>/revision/<rev>` (the fields we use).
#[derive(Clone, Debug)]
pub struct RevisionInfo {
    pub sha: String,
    /// `false`, `"auto"` or `"manual"` on the Hub.
    pub gated: bool,
    pub private: bool,
}

/// What a request is about, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub repo: &'a str,
    pub revision: &'a str,
    pub file: Option<&'a str>,
}

pub struct Client {
    agent: ureq::Agent,
    pub(crate) endpoint: String,
    token: Option<(Token, TokenSource)>,
}

/// Percent-encodes everything but unreserved characters (Python `quote(s, safe="")`), or also
/// keeps `/` (`quote(s)`, used for file paths).
pub(crate) fn quote(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn header<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `ETag: W/"abc"` → `abc`, as `_normalize_etag`.
fn normalize_etag(e: &str) -> String {
    e.trim_start_matches("W/").trim_matches('"').to_string()
}

/// `(scheme, host, port)` of a URL, for same-origin redirect decisions.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            (h, p.parse().unwrap_or(default))
        }
        _ => (authority, default),
    };
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), port))
}

/// Resolves a `Location` header against the URL that returned it.
fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return location.to_string();
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    let host = &rest[..host_end];
    if let Some(l) = location.strip_prefix("//") {
        return format!("{scheme}://{l}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{host}{location}");
    }
    let path = &rest[host_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    format!("{scheme}://{host}{dir}/{location}")
}

impl Client {
    pub fn new(settings: &HubSettings) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed by hand (see `send_get`), to decide per origin about the token.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_per_read(Some(Duration::from_secs(settings.read_timeout_secs)))
            .timeout_recv_response(Some(Duration::from_secs(
                settings.read_timeout_secs.max(30),
            )))
            .user_agent(format!("hf2mlx/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            endpoint: settings.endpoint.clone(),
            token: settings.token.clone(),
        }
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn auth<B>(&self, req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some((t, _)) => req.header("Authorization", t.bearer()),
            None => req,
        }
    }

    /// `…/resolve/<rev>/<path>`, quoted as `hf_hub_url` does.
    pub fn resolve_url(&self, repo: &str, rev: &str, path: &str) -> String {
        format!(
            "{}/{repo}/resolve/{}/{}",
            self.endpoint,
            quote(rev, false),
            quote(path, true)
        )
    }

    /// A transport failure (connection refused, DNS, TLS, timeout) as an error that names the
    /// endpoint and says how to work offline.
    pub(crate) fn transport_error(&self, url: &str, e: ureq::Error) -> Error {
        Error::Hub(format!(
            "cannot reach {} ({e}) while requesting {}. Check your connection or HF_ENDPOINT; to \
             use only files already in the cache, set HF_HUB_OFFLINE=1",
            self.endpoint,
            strip_query(url)
        ))
    }

    /// GET with redirects followed by hand: the token goes only to the endpoint's own origin
    /// (scheme, host and port), never to the CDN a `resolve` redirects to.
    pub(crate) fn send_get(
        &self,
        url: &str,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Response<ureq::Body>> {
        let mut url = url.to_string();
        for _ in 0..10 {
            let mut req = self
                .agent
                .get(&url)
                .header("Accept-Encoding", "identity")
                .config()
                .max_redirects(0)
                .build();
            if let Some((start, end)) = range {
                let v = match end {
                    Some(e) => format!("bytes={start}-{e}"),
                    None => format!("bytes={start}-"),
                };
                req = req.header("Range", v);
            }
            let req = if self.is_hub_url(&url) {
                self.auth(req)
            } else {
                req
            };
            let resp = req.call().map_err(|e| self.transport_error(&url, e))?;
            if resp.status().is_redirection()
                && let Some(loc) = header(resp.headers(), "location")
            {
                url = join_url(&url, loc);
                continue;
            }
            return Ok(resp);
        }
        Err(Error::Hub(format!(
            "too many redirects for {}",
            strip_query(&url)
        )))
    }

    /// Whether a URL belongs to the endpoint (so it may receive the token).
    pub(crate) fn is_hub_url(&self, url: &str) -> bool {
        origin(url).is_some() && origin(url) == origin(&self.endpoint)
    }

    /// Reads a small JSON response body (API answers), capped at 64 MiB.
    fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        mut resp: Response<ureq::Body>,
        url: &str,
    ) -> Result<T> {
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| self.transport_error(url, e))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::Hub(format!(
                "{} answered {} with something that is not the expected JSON ({e}); is HF_ENDPOINT a \
                 Hugging Face Hub?",
                self.endpoint,
                strip_query(url)
            ))
        })
    }

    /// `GET /api/models/<repo>/revision/<rev>`: the commit a branch, tag or sha resolves to.
    pub fn revision_info(&self, repo: &str, rev: &str) -> Result<RevisionInfo> {
        #[derive(Deserialize)]
        struct Raw {
            sha: Option<String>,
            #[serde(default)]
            gated: serde_json::Value,
            #[serde(default)]
            private: bool,
        }
        let url = format!(
            "{}/api/models/{repo}/revision/{}",
            self.endpoint,
            quote(rev, false)
        );
        let resp = self.send_get(&url, None)?;
        let resp = self.check(
            resp,
            Ctx {
                repo,
                revision: rev,
                file: None,
            },
        )?;
        let raw: Raw = self.read_json(resp, &url)?;
        let sha = raw.sha.filter(|s| super::is_commit_sha(s)).ok_or_else(|| {
            Error::Hub(format!(
                "{} did not report a commit id for {repo} at `{rev}`; is HF_ENDPOINT a Hugging Face Hub?",
                self.endpoint
            ))
        })?;
        let gated = match raw.gated {
            serde_json::Value::Bool(b) => b,
            serde_json::Value::String(s) => !s.is_empty(),
            _ => false,
        };
        Ok(RevisionInfo {
            sha,
            gated,
            private: raw.private,
        })
    }

    /// `GET /api/models/<repo>/tree/<commit>?recursive=true`, following `Link: rel="next"` pages.
    pub fn list_files(&self, repo: &str, commit: &str) -> Result<Vec<RemoteFile>> {
        #[derive(Deserialize)]
        struct Lfs {
            oid: String,
            size: u64,
        }
        #[derive(Deserialize)]
        struct Entry {
            #[serde(rename = "type")]
            kind: String,
            path: String,
            #[serde(default)]
            size: u64,
            #[serde(default)]
            oid: String,
            lfs: Option<Lfs>,
            #[serde(rename = "xetHash")]
            xet_hash: Option<String>,
        }
        let mut url = format!(
            "{}/api/models/{repo}/tree/{}?recursive=true&expand=false",
            self.endpoint,
            quote(commit, false)
        );
        let mut files = Vec::new();
        for _page in 0..100_000 {
            let resp = self.send_get(&url, None)?;
            let resp = self.check(
                resp,
                Ctx {
                    repo,
                    revision: commit,
                    file: None,
                },
            )?;
            let next = header(resp.headers(), "link").and_then(next_link);
            let entries: Vec<Entry> = self.read_json(resp, &url)?;
            for e in entries.into_iter().filter(|e| e.kind == "file") {
                let (size, lfs_sha256) = match e.lfs {
                    Some(l) => (l.size, Some(l.oid)),
                    None => (e.size, None),
                };
                files.push(RemoteFile {
                    path: e.path,
                    size,
                    blob_id: e.oid,
                    lfs_sha256,
                    xet_hash: e.xet_hash,
                });
            }
            match next {
                Some(n) => url = join_url(&url, &n),
                None => return Ok(files),
            }
        }
        Err(Error::Hub(format!(
            "the file listing of {repo} does not end"
        )))
    }

    /// `HEAD …/resolve/<commit>/<path>`: blob name (`X-Linked-Etag` or `ETag`), commit, size and
    /// download location, following only same-origin redirects.
    pub fn file_meta(&self, repo: &str, commit: &str, path: &str) -> Result<FileMeta> {
        let mut url = self.resolve_url(repo, commit, path);
        for _ in 0..10 {
            let req = self
                .agent
                .head(&url)
                .header("Accept-Encoding", "identity")
                .config()
                .max_redirects(0)
                .build();
            let req = if self.is_hub_url(&url) {
                self.auth(req)
            } else {
                req
            };
            let resp = req.call().map_err(|e| self.transport_error(&url, e))?;
            let status = resp.status();
            let resp = self.check(
                resp,
                Ctx {
                    repo,
                    revision: commit,
                    file: Some(path),
                },
            )?;
            let h = resp.headers();
            let location = header(h, "location").map(|l| join_url(&url, l));
            if status.is_redirection()
                && let Some(target) = &location
                && origin(target) == origin(&url)
                && header(h, "x-linked-etag").is_none()
            {
                url = target.clone();
                continue;
            }
            let etag = header(h, "x-linked-etag")
                .or_else(|| header(h, "etag"))
                .map(normalize_etag)
                .ok_or_else(|| {
                    Error::Hub(format!(
                        "{} sent no ETag for {path} of {repo}; is HF_ENDPOINT a Hugging Face Hub?",
                        self.endpoint
                    ))
                })?;
            let commit_header = header(h, "x-repo-commit").map(str::to_string).ok_or_else(|| {
                Error::Hub(format!(
                    "{} sent no X-Repo-Commit for {path} of {repo}: it does not look like a Hugging \
                     Face Hub. Check HF_ENDPOINT, proxy and firewall settings",
                    self.endpoint
                ))
            })?;
            let size = header(h, "x-linked-size")
                .or_else(|| {
                    if status.is_redirection() {
                        None
                    } else {
                        header(h, "content-length")
                    }
                })
                .and_then(|v| v.parse().ok());
            return Ok(FileMeta {
                etag,
                commit: commit_header,
                size,
                location: if status.is_redirection() {
                    location.unwrap_or(url)
                } else {
                    url
                },
            });
        }
        Err(Error::Hub(format!(
            "too many redirects resolving {path} of {repo}"
        )))
    }

    /// Reads bytes `[start, end)` of a repo file (an HTTP Range request, redirects followed).
    /// A server that ignores `Range` and answers 200 is handled by skipping to `start`.
    pub fn read_range(
        &self,
        repo: &str,
        commit: &str,
        path: &str,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>> {
        let mut attempt = 0;
        loop {
            match self.read_range_once(repo, commit, path, start, end) {
                Err(Error::Hub(m)) if m.starts_with("reading ") && attempt < 3 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(300 * attempt));
                }
                r => return r,
            }
        }
    }

    fn read_range_once(
        &self,
        repo: &str,
        commit: &str,
        path: &str,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>> {
        let url = self.resolve_url(repo, commit, path);
        let resp = self.send_get(&url, Some((start, Some(end.saturating_sub(1)))))?;
        let status = resp.status();
        let resp = self.check(
            resp,
            Ctx {
                repo,
                revision: commit,
                file: Some(path),
            },
        )?;
        let mut reader = resp.into_body().into_reader();
        if status == StatusCode::OK && start > 0 {
            std::io::copy(&mut (&mut reader).take(start), &mut std::io::sink())
                .map_err(|e| Error::Hub(format!("reading {path} of {repo}: {e}")))?;
        }
        let mut buf = Vec::with_capacity((end - start) as usize);
        reader
            .take(end - start)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Hub(format!("reading {path} of {repo}: {e}")))?;
        if (buf.len() as u64) < end - start {
            return Err(Error::Hub(format!(
                "reading {path} of {repo}: the connection closed after {} of {} bytes",
                buf.len(),
                end - start
            )));
        }
        Ok(buf)
    }

    /// Turns a Hub error response into an error that says what happened and what to do; passes
    /// successes (and redirects) through.
    pub(crate) fn check(
        &self,
        resp: Response<ureq::Body>,
        ctx: Ctx<'_>,
    ) -> Result<Response<ureq::Body>> {
        let status = resp.status().as_u16();
        if status < 400 {
            return Ok(resp);
        }
        let h = resp.headers();
        let code = header(h, "x-error-code").unwrap_or("").to_string();
        let server_msg = header(h, "x-error-message").unwrap_or("").to_string();
        Err(Error::Hub(self.describe_error(
            status,
            &code,
            &server_msg,
            ctx,
        )))
    }

    fn describe_error(&self, status: u16, code: &str, server_msg: &str, ctx: Ctx<'_>) -> String {
        let repo = ctx.repo;
        let page = format!("{}/{repo}", self.endpoint);
        let what = match ctx.file {
            Some(f) => format!("{f} of {repo}"),
            None => repo.to_string(),
        };
        let token_src = self.token.as_ref().map(|(_, s)| s.describe());
        let login = "run `hf auth login`, set HF_TOKEN, or pass --token";
        if server_msg == "Invalid credentials in Authorization header"
            || (status == 401 && code.is_empty() && token_src.is_some())
        {
            return format!(
                "the Hub rejected the token from {} as invalid or expired (HTTP {status}). Create a \
                 new one at {}/settings/tokens and {login}",
                token_src.unwrap_or("the environment"),
                self.endpoint
            );
        }
        match code {
            "GatedRepo" => match token_src {
                None => format!(
                    "{repo} is a gated model: you must accept its conditions and be logged in. \
                     Accept them at {page}, then {login}. (HTTP {status})"
                ),
                Some(src) => format!(
                    "{repo} is a gated model and the token from {src} has no access to it (HTTP \
                     {status}). Request access at {page} and wait for approval; a fine-grained \
                     token also needs \"Read access to contents of all public gated repos you can \
                     access\"."
                ),
            },
            "RevisionNotFound" => format!(
                "revision `{}` not found in {repo}: give a branch, tag or commit id that exists \
                 (see {page}/tree/main). (HTTP {status})",
                ctx.revision
            ),
            "EntryNotFound" => format!(
                "{what} not found at revision `{}` (HTTP {status})",
                ctx.revision
            ),
            "RepoNotFound" => match token_src {
                None => format!(
                    "model repo {repo} not found on {} (HTTP {status}). Check the id; if it is \
                     private, {login}",
                    self.endpoint
                ),
                Some(src) => format!(
                    "model repo {repo} not found on {} (HTTP {status}), or the token from {src} \
                     cannot see it (private repo of another account). Check the id and the token's \
                     permissions",
                    self.endpoint
                ),
            },
            _ if status == 401 => format!(
                "{what}: authentication required (HTTP 401). If the repo is private or gated, {login}"
            ),
            _ if status == 403 => format!(
                "{what}: access denied (HTTP 403){}. Check that the token has the needed permission",
                if server_msg.is_empty() {
                    String::new()
                } else {
                    format!(": {server_msg}")
                }
            ),
            _ if status == 404 => format!("{what} not found on {} (HTTP 404)", self.endpoint),
            _ if status == 429 => format!(
                "{} is rate-limiting requests (HTTP 429); wait a few minutes and run again{}",
                self.endpoint,
                if token_src.is_none() {
                    " (logged-in users get higher limits)"
                } else {
                    ""
                }
            ),
            _ => format!(
                "{} answered HTTP {status} for {what}{}; try again later",
                self.endpoint,
                if server_msg.is_empty() {
                    String::new()
                } else {
                    format!(": {server_msg}")
                }
            ),
        }
    }

    /// POST a JSON body to the Hub API, returning the parsed JSON answer.
    pub(crate) fn post_json(
        &self,
        url: &str,
        content_type: &str,
        body: &[u8],
        ctx: Ctx<'_>,
    ) -> Result<(u16, serde_json::Value)> {
        let req = self
            .agent
            .post(url)
            .header("Content-Type", content_type)
            .header(
                "Accept",
                if content_type.contains("git-lfs") {
                    content_type
                } else {
                    "application/json"
                },
            );
        let req = if self.is_hub_url(url) {
            self.auth(req)
        } else {
            req
        };
        let resp = req.send(body).map_err(|e| self.transport_error(url, e))?;
        let status = resp.status().as_u16();
        let resp = self.check(resp, ctx)?;
        let v: serde_json::Value = if status == 204 {
            serde_json::Value::Null
        } else {
            self.read_json(resp, url)?
        };
        Ok((status, v))
    }

    /// POST that may fail with a status the caller handles itself (e.g. 409 "already exists").
    pub(crate) fn post_json_status(
        &self,
        url: &str,
        body: &[u8],
    ) -> Result<(u16, HeaderMap, Vec<u8>)> {
        let req = self
            .agent
            .post(url)
            .header("Content-Type", "application/json");
        let req = if self.is_hub_url(url) {
            self.auth(req)
        } else {
            req
        };
        let mut resp = req.send(body).map_err(|e| self.transport_error(url, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|e| self.transport_error(url, e))?;
        Ok((status, headers, bytes))
    }

    /// PUT `len` bytes from `reader` (an LFS object) with an explicit Content-Length, as storage
    /// backends require. The token is sent only if the URL is on the Hub itself.
    pub(crate) fn put_reader(
        &self,
        url: &str,
        len: u64,
        reader: &mut dyn Read,
        extra: &[(String, String)],
    ) -> Result<(u16, HeaderMap, Vec<u8>)> {
        let mut req = self
            .agent
            .put(url)
            .header("Content-Length", len.to_string());
        for (k, v) in extra {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = if self.is_hub_url(url) {
            self.auth(req)
        } else {
            req
        };
        let mut resp = req
            .send(ureq::SendBody::from_reader(reader))
            .map_err(|e| self.transport_error(url, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .unwrap_or_default();
        Ok((status, headers, bytes))
    }

    pub(crate) fn describe_status(&self, status: u16, headers: &HeaderMap, ctx: Ctx<'_>) -> String {
        self.describe_error(
            status,
            header(headers, "x-error-code").unwrap_or(""),
            header(headers, "x-error-message").unwrap_or(""),
            ctx,
        )
    }
}

/// URLs in messages lose their query (signed CDN URLs carry credentials there).
fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The `rel="next"` target of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_python() {
        assert_eq!(quote("refs/pr/1", false), "refs%2Fpr%2F1");
        assert_eq!(quote("dir/a b.json", true), "dir/a%20b.json");
        assert_eq!(quote("main", false), "main");
    }

    #[test]
    fn urls() {
        assert_eq!(
            join_url("http://127.0.0.1:5/a/b?x", "/c/d"),
            "http://127.0.0.1:5/c/d"
        );
        assert_eq!(join_url("http://h/a/b", "c"), "http://h/a/c");
        assert_eq!(join_url("http://h/a/b", "https://cdn/x"), "https://cdn/x");
        assert_eq!(
            origin("http://127.0.0.1:8080/x"),
            origin("http://127.0.0.1:8080")
        );
        assert_ne!(
            origin("http://127.0.0.1:8080/x"),
            origin("http://127.0.0.1:8081/x")
        );
        assert_eq!(origin("https://hf.co/x"), origin("https://hf.co:443/y"));
        assert_eq!(
            next_link("<https://h/api/x?cursor=2>; rel=\"next\""),
            Some("https://h/api/x?cursor=2".into())
        );
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
    }
}
