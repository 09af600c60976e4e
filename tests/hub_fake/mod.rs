//! A fake Hugging Face Hub for tests, on 127.0.0.1 only: the endpoints hf2mlx and Python
//! `huggingface_hub` use for download and upload, with the real Hub's status codes and headers.
//!
//! Two servers: the Hub itself (API, `resolve`, LFS batch, commit) and a "CDN" on another port
//! that serves LFS objects and receives uploads, so cross-host redirects behave as on the real
//! Hub (the token must not follow them; the CDN records any `Authorization` it receives).
//!
//! Modelled on huggingface.co as `huggingface_hub` 2.x expects it:
//! - `GET /api/models/{repo}/revision/{rev}` → `{id, sha, siblings, gated, private}`;
//!   `X-Error-Code: RevisionNotFound | RepoNotFound`.
//! - `GET /api/models/{repo}/tree/{rev}?recursive=true` → paginated (`Link: <…>; rel="next"`).
//! - `HEAD|GET /{repo}/resolve/{rev}/{path}`: git files answer 200 with `ETag` (git blob id),
//!   `X-Repo-Commit`, `Content-Length`, Range → 206; LFS files answer 302 to the CDN with
//!   `X-Linked-Etag` (sha256), `X-Linked-Size`. Gated: 401 (no token) / 403 (no access) with
//!   `X-Error-Code: GatedRepo`; private or missing: 401 (no token) / 404 `RepoNotFound`; bad
//!   token: 401 `Invalid credentials in Authorization header`; missing file: 404 `EntryNotFound`.
//! - `POST /api/repos/create` (409 if it exists), `POST /api/models/{repo}/preupload/{rev}`,
//!   `POST /{repo}.git/info/lfs/objects/batch` (basic, or multipart above a threshold; no
//!   `actions` for objects already stored), verify, `POST /api/models/{repo}/commit/{rev}` (NDJSON).
//!
//! Git blob ids are real git sha1s: clients name cache blobs after them and check small
//! (non-LFS) files against them.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The git blob id, as the Hub reports for every file (and clients check for non-LFS ones).
pub fn git_oid(data: &[u8]) -> String {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(format!("blob {}\0", data.len()).as_bytes());
    h.update(data);
    hex(&h.finalize())
}

#[derive(Clone)]
pub struct FileEntry {
    pub data: Arc<Vec<u8>>,
    pub lfs: bool,
    pub oid: String,
    pub sha256: String,
}

impl FileEntry {
    pub fn new(data: Vec<u8>, lfs: bool) -> FileEntry {
        FileEntry {
            oid: git_oid(&data),
            sha256: sha256_hex(&data),
            data: Arc::new(data),
            lfs,
        }
    }
}

#[derive(Default)]
pub struct RepoState {
    pub owner: String,
    pub gated: bool,
    pub private: bool,
    pub granted: HashSet<String>,
    pub branches: HashMap<String, String>,
    pub commits: HashMap<String, BTreeMap<String, FileEntry>>,
}

/// One request as the servers saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub server: &'static str,
    pub method: String,
    pub url: String,
    pub range: Option<String>,
    pub auth: Option<String>,
    pub status: u16,
    pub bytes: Arc<AtomicU64>,
}

impl Logged {
    pub fn sent(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
pub struct State {
    pub repos: HashMap<String, RepoState>,
    /// token → user
    pub tokens: HashMap<String, String>,
    /// old repo id → new one (renamed repos answer 307).
    pub renamed: HashMap<String, String>,
    pub lfs: HashMap<String, Arc<Vec<u8>>>,
    parts: HashMap<(String, u64), Vec<u8>>,
    pub log: Vec<Logged>,
    /// Downloads whose URL contains this string are sent slowly: (needle, bytes per step, delay).
    pub slow_download: Option<(String, usize, Duration)>,
    /// Uploads (PUT) are read slowly: (bytes per step, delay).
    pub slow_upload: Option<(usize, Duration)>,
    /// The next download whose URL contains the needle breaks after this many bytes.
    pub break_once: Option<(String, u64)>,
    /// Ignore Range headers (answer 200 with the whole file).
    pub ignore_range: bool,
    /// Entries per tree page.
    pub tree_page: usize,
    /// LFS objects above this size get a multipart upload plan.
    pub multipart_above: u64,
    pub multipart_chunk: u64,
    counter: u64,
}

pub struct FakeHub {
    pub url: String,
    pub cdn: String,
    pub state: Arc<Mutex<State>>,
}

fn hdr(k: &str, v: &str) -> Header {
    Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("valid header")
}

type Resp = Response<Box<dyn Read + Send>>;

fn resp(status: u16, headers: Vec<Header>, body: Vec<u8>) -> Resp {
    let len = body.len();
    Response::new(
        StatusCode(status),
        headers,
        Box::new(Cursor::new(body)) as Box<dyn Read + Send>,
        Some(len),
        None,
    )
    .with_chunked_threshold(usize::MAX)
}

fn json_resp(status: u16, v: &Value) -> Resp {
    resp(
        status,
        vec![hdr("Content-Type", "application/json")],
        v.to_string().into_bytes(),
    )
}

fn err(status: u16, code: Option<&str>, msg: &str) -> Resp {
    let mut h = vec![
        hdr("Content-Type", "application/json"),
        hdr("X-Error-Message", msg),
    ];
    if let Some(c) = code {
        h.push(hdr("X-Error-Code", c));
    }
    resp(status, h, json!({ "error": msg }).to_string().into_bytes())
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn b64decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => 0,
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if pad < 2 {
            out.push((n >> 8) as u8);
        }
        if pad < 1 {
            out.push(n as u8);
        }
    }
    out
}

/// Sends `data[start..end]`, optionally slowly, optionally breaking the connection, counting bytes.
struct Body {
    data: Arc<Vec<u8>>,
    pos: usize,
    end: usize,
    step: usize,
    delay: Duration,
    break_at: Option<usize>,
    sent: Arc<AtomicU64>,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(b) = self.break_at
            && self.pos >= b
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault injected",
            ));
        }
        if self.pos >= self.end {
            return Ok(0);
        }
        let mut n = buf.len().min(self.end - self.pos).min(self.step);
        if let Some(b) = self.break_at {
            n = n.min(b - self.pos);
        }
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl FakeHub {
    pub fn start() -> FakeHub {
        let hub = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let cdn = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let url = format!("http://{}", hub.server_addr().to_ip().expect("ip"));
        let cdn_url = format!("http://{}", cdn.server_addr().to_ip().expect("ip"));
        let state = Arc::new(Mutex::new(State {
            tree_page: 1000,
            multipart_above: u64::MAX,
            multipart_chunk: 1 << 20,
            ..State::default()
        }));
        for (server, name) in [(hub, "hub"), (cdn, "cdn")] {
            for _ in 0..8 {
                let server = server.clone();
                let state = state.clone();
                let (u, c) = (url.clone(), cdn_url.clone());
                std::thread::spawn(move || {
                    while let Ok(req) = server.recv() {
                        handle(req, name, &state, &u, &c);
                    }
                });
            }
        }
        FakeHub {
            url,
            cdn: cdn_url,
            state,
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("state"))
    }

    pub fn add_token(&self, token: &str, user: &str) {
        self.with(|s| s.tokens.insert(token.into(), user.into()));
    }

    /// Creates (or adds a commit to) `repo` on `main` with these files; returns the commit sha.
    pub fn push(&self, repo: &str, files: &[(&str, Vec<u8>)]) -> String {
        self.with(|s| {
            s.counter += 1;
            let sha = sha256_hex(format!("{repo}:{}", s.counter).as_bytes())[..40].to_string();
            let r = s
                .repos
                .entry(repo.to_string())
                .or_insert_with(|| RepoState {
                    owner: repo.split('/').next().unwrap_or("").into(),
                    ..RepoState::default()
                });
            let mut tree = r
                .branches
                .get("main")
                .and_then(|h| r.commits.get(h))
                .cloned()
                .unwrap_or_default();
            for (p, d) in files {
                let lfs = p.ends_with(".safetensors") || d.len() > 10 << 20;
                let e = FileEntry::new(d.clone(), lfs);
                if lfs {
                    s.lfs.insert(e.sha256.clone(), e.data.clone());
                }
                tree.insert(p.to_string(), e);
            }
            r.commits.insert(sha.clone(), tree);
            r.branches.insert("main".into(), sha.clone());
            sha
        })
    }

    pub fn repo<R>(&self, repo: &str, f: impl FnOnce(&mut RepoState) -> R) -> R {
        self.with(|s| f(s.repos.get_mut(repo).expect("repo exists")))
    }

    pub fn log(&self) -> Vec<Logged> {
        self.with(|s| s.log.clone())
    }

    pub fn clear_log(&self) {
        self.with(|s| s.log.clear());
    }

    /// The files of `repo` at the head of `main`.
    pub fn head_files(&self, repo: &str) -> BTreeMap<String, Vec<u8>> {
        self.with(|s| {
            let r = &s.repos[repo];
            r.commits[&r.branches["main"]]
                .iter()
                .map(|(k, v)| (k.clone(), v.data.to_vec()))
                .collect()
        })
    }
}

fn header_value(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

/// Who is asking: Ok(None) anonymous, Ok(Some(user)), Err(response) for an invalid token.
fn user(req: &Request, s: &State) -> Result<Option<String>, Resp> {
    let Some(auth) = header_value(req, "Authorization") else {
        return Ok(None);
    };
    let token = auth.strip_prefix("Bearer ").unwrap_or("");
    match s.tokens.get(token) {
        Some(u) => Ok(Some(u.clone())),
        None => Err(err(
            401,
            None,
            "Invalid credentials in Authorization header",
        )),
    }
}

/// Read access to a repo's metadata (`files == false`) or its files.
fn access(s: &State, repo: &str, who: &Option<String>, files: bool) -> Result<(), Resp> {
    let not_found = || {
        if who.is_none() {
            err(401, Some("RepoNotFound"), "Repository not found")
        } else {
            err(404, Some("RepoNotFound"), "Repository not found")
        }
    };
    let Some(r) = s.repos.get(repo) else {
        return Err(not_found());
    };
    if r.private && who.as_deref() != Some(r.owner.as_str()) {
        return Err(not_found());
    }
    if files && r.gated {
        match who {
            None => {
                return Err(err(
                    401,
                    Some("GatedRepo"),
                    &format!(
                        "Access to model {repo} is restricted. You must have access to it and be authenticated to access it. Please log in."
                    ),
                ));
            }
            Some(u) if !r.granted.contains(u) && u != &r.owner => {
                return Err(err(
                    403,
                    Some("GatedRepo"),
                    &format!(
                        "Access to model {repo} is restricted and you are not in the authorized list. Visit https://huggingface.co/{repo} to ask for access."
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn resolve_rev(r: &RepoState, rev: &str) -> Option<String> {
    if r.commits.contains_key(rev) {
        return Some(rev.to_string());
    }
    r.branches.get(rev).cloned()
}

fn rev_not_found(rev: &str) -> Resp {
    err(
        404,
        Some("RevisionNotFound"),
        &format!("Invalid rev id: {rev}"),
    )
}

fn parse_range(v: &str, len: usize) -> Option<(usize, usize)> {
    let r = v.strip_prefix("bytes=")?;
    let (a, b) = r.split_once('-')?;
    let start: usize = a.parse().ok()?;
    let end = if b.is_empty() {
        len
    } else {
        b.parse::<usize>().ok()? + 1
    };
    (start < len || len == 0).then_some((start, end.min(len)))
}

fn handle(mut req: Request, server: &'static str, state: &Arc<Mutex<State>>, hub: &str, cdn: &str) {
    let url = req.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let method = req.method().clone();
    let mut body = Vec::new();
    if matches!(method, Method::Post) {
        let _ = req.as_reader().read_to_end(&mut body);
    }
    let sent = Arc::new(AtomicU64::new(0));
    let entry = Logged {
        server,
        method: method.to_string(),
        url: decode(&url),
        range: header_value(&req, "Range"),
        auth: header_value(&req, "Authorization"),
        status: 0,
        bytes: sent.clone(),
    };
    if matches!(method, Method::Put) {
        let slow_upload = state.lock().expect("state").slow_upload;
        let mut buf = vec![0u8; slow_upload.map(|s| s.0).unwrap_or(1 << 16)];
        loop {
            match req.as_reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    body.extend_from_slice(&buf[..n]);
                    sent.fetch_add(n as u64, Ordering::Relaxed);
                    if let Some((_, d)) = slow_upload {
                        std::thread::sleep(d);
                    }
                }
                Err(_) => break,
            }
        }
    }
    let response = {
        let mut s = state.lock().expect("state");
        let idx = s.log.len();
        s.log.push(entry);
        let r = route(
            &mut s,
            &req,
            server,
            &method,
            &segs,
            query,
            &body,
            hub,
            cdn,
            sent.clone(),
        );
        s.log[idx].status = r.status_code().0;
        r
    };
    let _ = req.respond(response);
}

#[allow(clippy::too_many_arguments)]
fn route(
    s: &mut State,
    req: &Request,
    server: &str,
    method: &Method,
    segs: &[String],
    query: &str,
    body: &[u8],
    hub: &str,
    cdn: &str,
    sent: Arc<AtomicU64>,
) -> Resp {
    let who = match user(req, s) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let seg = |i: usize| segs.get(i).map(String::as_str).unwrap_or("");
    if server == "cdn" {
        return cdn_route(s, req, method, segs, &url_of(req), sent, body);
    }
    match (method, seg(0), seg(1)) {
        (Method::Get, "api", "models") if seg(4) == "revision" || seg(4) == "tree" => {
            let repo = format!("{}/{}", seg(2), seg(3));
            if let Err(r) = access(s, &repo, &who, false) {
                return r;
            }
            let r = &s.repos[&repo];
            let Some(sha) = resolve_rev(r, seg(5)) else {
                return rev_not_found(seg(5));
            };
            let tree = &r.commits[&sha];
            if seg(4) == "revision" {
                let siblings: Vec<Value> = tree.keys().map(|k| json!({ "rfilename": k })).collect();
                return json_resp(
                    200,
                    &json!({
                        "_id": "x", "id": repo, "modelId": repo, "sha": sha, "private": r.private,
                        "gated": if r.gated { json!("manual") } else { json!(false) },
                        "disabled": false, "downloads": 0, "likes": 0, "tags": [],
                        "siblings": siblings,
                    }),
                );
            }
            let cursor: usize = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("cursor="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut entries: Vec<Value> = Vec::new();
            let mut dirs = BTreeMap::new();
            for (p, e) in tree {
                let mut parts: Vec<&str> = p.split('/').collect();
                parts.pop();
                for i in 1..=parts.len() {
                    dirs.insert(parts[..i].join("/"), ());
                }
                let mut v = json!({"type": "file", "oid": e.oid, "size": e.data.len(), "path": p});
                if e.lfs {
                    v["lfs"] = json!({"oid": e.sha256, "size": e.data.len(), "pointerSize": 134});
                }
                entries.push(v);
            }
            for d in dirs.keys() {
                entries.push(
                    json!({"type": "directory", "oid": "0".repeat(40), "size": 0, "path": d}),
                );
            }
            let page = s.tree_page.max(1);
            let end = (cursor + page).min(entries.len());
            let mut headers = vec![hdr("Content-Type", "application/json")];
            if end < entries.len() {
                headers.push(hdr(
                    "Link",
                    &format!("<{hub}/api/models/{repo}/tree/{sha}?recursive=true&cursor={end}>; rel=\"next\""),
                ));
            }
            resp(
                200,
                headers,
                Value::Array(entries[cursor.min(end)..end].to_vec())
                    .to_string()
                    .into_bytes(),
            )
        }
        (Method::Head | Method::Get, _, _) if seg(2) == "resolve" => {
            let repo = format!("{}/{}", seg(0), seg(1));
            if let Some(new) = s.renamed.get(&repo) {
                let rest = segs[2..]
                    .iter()
                    .map(|x| crate_quote(x))
                    .collect::<Vec<_>>()
                    .join("/");
                return resp(
                    307,
                    vec![hdr("Location", &format!("/{new}/{rest}"))],
                    Vec::new(),
                );
            }
            if let Err(r) = access(s, &repo, &who, true) {
                return r;
            }
            let r = &s.repos[&repo];
            let Some(sha) = resolve_rev(r, seg(3)) else {
                return rev_not_found(seg(3));
            };
            let file = segs[4..].join("/");
            let Some(e) = r.commits[&sha].get(&file) else {
                let mut x = err(
                    404,
                    Some("EntryNotFound"),
                    &format!("{file} does not exist on \"{}\"", seg(3)),
                );
                x.add_header(hdr("X-Repo-Commit", &sha));
                return x;
            };
            let common = vec![hdr("X-Repo-Commit", &sha), hdr("Accept-Ranges", "bytes")];
            if e.lfs {
                let mut h = common;
                h.push(hdr("X-Linked-Etag", &format!("\"{}\"", e.sha256)));
                h.push(hdr("X-Linked-Size", &e.data.len().to_string()));
                h.push(hdr("ETag", &format!("\"{}\"", e.oid)));
                h.push(hdr(
                    "Location",
                    &format!("{cdn}/lfs/{}?X-Amz-Signature=fake", e.sha256),
                ));
                return resp(302, h, Vec::new());
            }
            let mut h = common;
            h.push(hdr("ETag", &format!("\"{}\"", e.oid)));
            serve(s, req, e.data.clone(), h, &url_of(req), sent)
        }
        (Method::Post, "api", "repos") if seg(2) == "create" => {
            let Some(u) = who else {
                return err(401, None, "You must be authenticated to create a repo");
            };
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let org = v["organization"].as_str().unwrap_or(&u).to_string();
            let name = v["name"].as_str().unwrap_or("").to_string();
            if org != u {
                return err(
                    403,
                    None,
                    "You don't have the rights to create a model under this namespace",
                );
            }
            let repo = format!("{org}/{name}");
            if s.repos.contains_key(&repo) {
                return json_resp(
                    409,
                    &json!({"error": "You already created this model repo", "url": format!("{hub}/{repo}")}),
                );
            }
            s.counter += 1;
            let sha = sha256_hex(format!("{repo}:{}", s.counter).as_bytes())[..40].to_string();
            let mut tree = BTreeMap::new();
            tree.insert(
                ".gitattributes".to_string(),
                FileEntry::new(
                    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n".to_vec(),
                    false,
                ),
            );
            let mut r = RepoState {
                owner: org,
                private: v["visibility"] == "private",
                ..RepoState::default()
            };
            r.commits.insert(sha.clone(), tree);
            r.branches.insert("main".into(), sha);
            s.repos.insert(repo.clone(), r);
            json_resp(200, &json!({"url": format!("{hub}/{repo}"), "name": repo}))
        }
        (Method::Post, "api", "models") if seg(4) == "preupload" || seg(4) == "commit" => {
            let repo = format!("{}/{}", seg(2), seg(3));
            if let Err(r) = access(s, &repo, &who, false) {
                return r;
            }
            if who.as_deref() != Some(s.repos[&repo].owner.as_str()) {
                return err(403, None, "You don't have write access to this repo");
            }
            if seg(4) == "preupload" {
                let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let files: Vec<Value> = v["files"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|f| {
                        let p = f["path"].as_str().unwrap_or("");
                        let sample = b64decode(f["sample"].as_str().unwrap_or(""));
                        let lfs = p.ends_with(".safetensors")
                            || f["size"].as_u64().unwrap_or(0) > 10 << 20
                            || sample.contains(&0);
                        json!({"path": p, "uploadMode": if lfs {"lfs"} else {"regular"}, "shouldIgnore": false, "oid": null})
                    })
                    .collect();
                return json_resp(
                    200,
                    &json!({ "files": files, "commitOid": s.repos[&repo].branches["main"] }),
                );
            }
            // Commit: NDJSON lines.
            let text = String::from_utf8_lossy(body).into_owned();
            let r = s.repos.get(&repo).expect("repo");
            let Some(parent) = resolve_rev(r, seg(5)) else {
                return rev_not_found(seg(5));
            };
            let mut tree = r.commits[&parent].clone();
            let mut summary = String::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    Err(e) => return err(400, None, &format!("bad ndjson: {e}")),
                };
                let val = &v["value"];
                match v["key"].as_str() {
                    Some("header") => summary = val["summary"].as_str().unwrap_or("").into(),
                    Some("file") => {
                        let data = b64decode(val["content"].as_str().unwrap_or(""));
                        tree.insert(
                            val["path"].as_str().unwrap_or("").into(),
                            FileEntry::new(data, false),
                        );
                    }
                    Some("lfsFile") => {
                        let oid = val["oid"].as_str().unwrap_or("");
                        let Some(data) = s.lfs.get(oid) else {
                            return err(400, None, &format!("LFS object {oid} was not uploaded"));
                        };
                        if data.len() as u64 != val["size"].as_u64().unwrap_or(0) {
                            return err(400, None, "LFS size mismatch");
                        }
                        tree.insert(
                            val["path"].as_str().unwrap_or("").into(),
                            FileEntry {
                                data: data.clone(),
                                lfs: true,
                                oid: git_oid(data),
                                sha256: oid.into(),
                            },
                        );
                    }
                    Some("deletedFile") => {
                        tree.remove(val["path"].as_str().unwrap_or(""));
                    }
                    _ => return err(400, None, "unknown ndjson key"),
                }
            }
            if summary.is_empty() {
                return err(400, None, "commit summary is required");
            }
            s.counter += 1;
            let sha = sha256_hex(format!("{repo}:{}", s.counter).as_bytes())[..40].to_string();
            let r = s.repos.get_mut(&repo).expect("repo");
            r.commits.insert(sha.clone(), tree);
            r.branches.insert(seg(5).to_string(), sha.clone());
            json_resp(
                200,
                &json!({"commitUrl": format!("{hub}/{repo}/commit/{sha}"), "commitOid": sha, "pullRequestUrl": null}),
            )
        }
        (Method::Post, org, name_git) if name_git.ends_with(".git") && seg(5) == "batch" => {
            let repo = format!("{org}/{}", name_git.trim_end_matches(".git"));
            if let Err(r) = access(s, &repo, &who, false) {
                return r;
            }
            if who.as_deref() != Some(s.repos[&repo].owner.as_str()) {
                return err(403, None, "You don't have write access to this repo");
            }
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let objects: Vec<Value> = v["objects"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|o| {
                    let oid = o["oid"].as_str().unwrap_or("").to_string();
                    let size = o["size"].as_u64().unwrap_or(0);
                    if s.lfs.contains_key(&oid) {
                        return json!({"oid": oid, "size": size});
                    }
                    let upload = if size > s.multipart_above {
                        let chunk = s.multipart_chunk;
                        let mut h = serde_json::Map::new();
                        h.insert("chunk_size".into(), json!(chunk.to_string()));
                        for i in 1..=size.div_ceil(chunk) {
                            h.insert(
                                i.to_string(),
                                json!(format!("{cdn}/upload/{oid}/part/{i}?sig=x")),
                            );
                        }
                        json!({"href": format!("{hub}/lfs-complete/{oid}"), "header": h})
                    } else {
                        json!({"href": format!("{cdn}/upload/{oid}?sig=x"), "header": {}})
                    };
                    json!({"oid": oid, "size": size, "authenticated": true, "actions": {
                        "upload": upload,
                        "verify": {"href": format!("{hub}/lfs-verify/{repo}")},
                    }})
                })
                .collect();
            resp(
                200,
                vec![hdr("Content-Type", "application/vnd.git-lfs+json")],
                json!({"transfer": "basic", "objects": objects})
                    .to_string()
                    .into_bytes(),
            )
        }
        (Method::Post, "lfs-verify", _) => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let oid = v["oid"].as_str().unwrap_or("");
            match s.lfs.get(oid) {
                Some(d) if d.len() as u64 == v["size"].as_u64().unwrap_or(0) => {
                    json_resp(200, &json!({}))
                }
                _ => err(404, None, "object not found"),
            }
        }
        (Method::Post, "lfs-complete", oid) => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let mut data = Vec::new();
            for p in v["parts"].as_array().cloned().unwrap_or_default() {
                let n = p["partNumber"].as_u64().unwrap_or(0);
                match s.parts.get(&(oid.to_string(), n)) {
                    Some(d) if p["etag"].as_str() == Some(&format!("\"part-{n}\"")) => {
                        data.extend_from_slice(d)
                    }
                    _ => return err(400, None, &format!("part {n} missing or bad etag")),
                }
            }
            if sha256_hex(&data) != oid {
                return err(400, None, "assembled object does not match its oid");
            }
            s.lfs.insert(oid.to_string(), Arc::new(data));
            json_resp(200, &json!({}))
        }
        _ => err(
            404,
            None,
            &format!("no route for {method} {}", segs.join("/")),
        ),
    }
}

fn url_of(req: &Request) -> String {
    req.url().to_string()
}

fn crate_quote(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A GET/HEAD of file bytes with Range support and the configured faults.
fn serve(
    s: &mut State,
    req: &Request,
    data: Arc<Vec<u8>>,
    mut headers: Vec<Header>,
    url: &str,
    sent: Arc<AtomicU64>,
) -> Resp {
    let len = data.len();
    let range = header_value(req, "Range")
        .filter(|_| !s.ignore_range)
        .and_then(|r| parse_range(&r, len));
    let (status, start, end) = match range {
        Some((a, b)) => {
            headers.push(hdr(
                "Content-Range",
                &format!("bytes {a}-{}/{len}", b.saturating_sub(1)),
            ));
            (206, a, b)
        }
        None => (200, 0, len),
    };
    let (step, delay) = match &s.slow_download {
        Some((needle, step, d)) if url.contains(needle.as_str()) => (*step, *d),
        _ => (1 << 16, Duration::ZERO),
    };
    let mut break_at = None;
    if let Some((needle, after)) = s.break_once.clone()
        && url.contains(needle.as_str())
        && *req.method() == Method::Get
        && header_value(req, "Range").is_none_or(|r| r.ends_with('-'))
    {
        break_at = Some(start + after as usize);
        s.break_once = None;
    }
    Response::new(
        StatusCode(status),
        headers,
        Box::new(Body {
            data,
            pos: start,
            end,
            step,
            delay,
            break_at,
            sent,
        }) as Box<dyn Read + Send>,
        Some(end - start),
        None,
    )
    .with_chunked_threshold(usize::MAX)
}

fn cdn_route(
    s: &mut State,
    req: &Request,
    method: &Method,
    segs: &[String],
    url: &str,
    sent: Arc<AtomicU64>,
    body: &[u8],
) -> Resp {
    let seg = |i: usize| segs.get(i).map(String::as_str).unwrap_or("");
    match (method, seg(0)) {
        (Method::Get | Method::Head, "lfs") => match s.lfs.get(seg(1)).cloned() {
            Some(d) => serve(
                s,
                req,
                d,
                vec![hdr("ETag", &format!("\"{}\"", seg(1)))],
                url,
                sent,
            ),
            None => err(404, None, "NoSuchKey"),
        },
        (Method::Put, "upload") => {
            let declared =
                header_value(req, "Content-Length").and_then(|v| v.parse::<usize>().ok());
            if declared != Some(body.len()) {
                // Storage backends need Content-Length and reject short bodies.
                return err(400, None, "Content-Length missing or body incomplete");
            }
            match store_put(s, segs, body.to_vec()) {
                Ok(()) if seg(2) == "part" => resp(
                    200,
                    vec![hdr("ETag", &format!("\"part-{}\"", seg(3)))],
                    Vec::new(),
                ),
                Ok(()) => resp(200, vec![], Vec::new()),
                Err(e) => err(400, None, &e),
            }
        }
        _ => err(404, None, "no such CDN route"),
    }
}

/// PUT bodies are read in `handle` before routing; this stores them (called from there).
pub fn store_put(s: &mut State, segs: &[String], body: Vec<u8>) -> Result<(), String> {
    let seg = |i: usize| segs.get(i).map(String::as_str).unwrap_or("");
    if seg(2) == "part" {
        let n: u64 = seg(3).parse().unwrap_or(0);
        s.parts.insert((seg(1).to_string(), n), body);
        return Ok(());
    }
    if sha256_hex(&body) != seg(1) {
        return Err("body does not match the oid".into());
    }
    s.lfs.insert(seg(1).to_string(), Arc::new(body));
    Ok(())
}
