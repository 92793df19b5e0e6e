//! The referrers-API path and the bearer-token flow, against a small
//! in-test registry: a MOCK, not a registry. Why a mock: Debian's
//! `docker-registry` (distribution 2.8, what tests/registry.rs runs) has
//! neither the OCI 1.1 referrers API nor a token service, and no other
//! registry is packaged for the test machines. The mock implements only
//! what lbom calls (distribution spec v1.1: blob HEAD/GET, chunked upload,
//! manifest PUT/GET, `GET /v2/REPO/referrers/DIGEST`, the `OCI-Subject`
//! answer, a blob redirect to another origin) and the token flow (a 401 with a `Bearer` challenge, a token
//! service that wants basic credentials), and records what it was asked.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::station::{pull, push, pushed_digest, s, station, tiny};
use common::{TestResult, fail};
use sha2::Digest as _;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const TOKEN: &str = "mock-token-7f3a";
const USER: &str = "alice";
const PASSWORD: &str = "pw-9";

#[derive(Default)]
struct State {
    blobs: BTreeMap<String, Vec<u8>>,
    manifests: BTreeMap<String, (Vec<u8>, String)>,
    uploads: BTreeMap<String, Vec<u8>>,
    tokens_issued: usize,
    referrers_asked: usize,
    next: usize,
    /// Blob GETs answered with a redirect to the "CDN" listener.
    redirect_blobs: bool,
    cdn_port: u16,
    cdn_served: usize,
    cdn_saw_authorization: bool,
}

struct Mock {
    port: u16,
    state: Arc<Mutex<State>>,
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> Res<Request> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let (path, query) = target
        .split_once('?')
        .map_or((target.clone(), String::new()), |(p, q)| {
            (p.to_owned(), q.to_owned())
        });
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    Ok(Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> Res<()> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out += &format!("{k}: {v}\r\n");
    }
    out += "\r\n";
    stream.write_all(out.as_bytes())?;
    stream.write_all(body)?;
    Ok(())
}

/// 202 Accepted for the upload `id`, naming where its next chunk goes.
fn upload_accepted(stream: &mut TcpStream, id: &str) -> Res<()> {
    respond(
        stream,
        202,
        &[("Location", format!("/v2/models/tiny/blobs/uploads/{id}"))],
        b"",
    )
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn basic(user: &str, password: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        for i in 0..4 {
            let sextet = ((n >> (18 - 6 * i)) & 63) as usize;
            let c = A
                .get(sextet)
                .copied()
                .filter(|_| i <= chunk.len())
                .unwrap_or(b'=');
            out.push(char::from(c));
        }
    }
    format!("Basic {out}")
}

fn handle(stream: &mut TcpStream, state: &Mutex<State>, port: u16) -> Res<()> {
    let req = read_request(stream)?;
    let mut st = state.lock().map_err(|_| fail("poisoned"))?;
    if req.path == "/token" {
        if req.headers.get("authorization") != Some(&basic(USER, PASSWORD)) {
            return respond(stream, 401, &[], b"{}");
        }
        st.tokens_issued += 1;
        return respond(
            stream,
            200,
            &[("Content-Type", "application/json".into())],
            format!(r#"{{"token":"{TOKEN}"}}"#).as_bytes(),
        );
    }
    if req.headers.get("authorization") != Some(&format!("Bearer {TOKEN}")) {
        let challenge = format!(
            r#"Bearer realm="http://127.0.0.1:{port}/token",service="mock",scope="repository:models/tiny:pull,push""#
        );
        return respond(stream, 401, &[("WWW-Authenticate", challenge)], b"{}");
    }
    let rest = req
        .path
        .strip_prefix("/v2/models/tiny/")
        .ok_or_else(|| fail(format!("unexpected path {}", req.path)))?;
    let (kind, name) = rest.split_once('/').unwrap_or((rest, ""));
    match (req.method.as_str(), kind) {
        ("HEAD", "blobs") => {
            let status = if st.blobs.contains_key(name) {
                200
            } else {
                404
            };
            respond(stream, status, &[], b"")
        }
        ("GET", "blobs") if st.redirect_blobs => {
            let location = format!("http://127.0.0.1:{}/cdn/{name}", st.cdn_port);
            respond(stream, 307, &[("Location", location)], b"")
        }
        ("GET", "blobs") => match st.blobs.get(name) {
            Some(b) => respond(stream, 200, &[], &b.clone()),
            None => respond(stream, 404, &[], b""),
        },
        ("POST", "blobs") => {
            st.next += 1;
            let id = format!("u{}", st.next);
            st.uploads.insert(id.clone(), Vec::new());
            upload_accepted(stream, &id)
        }
        ("PATCH", "blobs") => {
            let id = name.trim_start_matches("uploads/").to_owned();
            st.uploads
                .get_mut(&id)
                .ok_or_else(|| fail("no upload"))?
                .extend_from_slice(&req.body);
            upload_accepted(stream, &id)
        }
        ("PUT", "blobs") => {
            let id = name.trim_start_matches("uploads/").to_owned();
            let mut data = st.uploads.remove(&id).ok_or_else(|| fail("no upload"))?;
            data.extend_from_slice(&req.body);
            let want = req
                .query
                .strip_prefix("digest=")
                .unwrap_or_default()
                .to_owned();
            if digest(&data) != want {
                return respond(stream, 400, &[], b"DIGEST_INVALID");
            }
            st.blobs.insert(want, data);
            respond(stream, 201, &[], b"")
        }
        ("PUT", "manifests") => {
            let d = digest(&req.body);
            let media = req.headers.get("content-type").cloned().unwrap_or_default();
            let value: serde_json::Value = serde_json::from_slice(&req.body)?;
            let subject = value
                .pointer("/subject/digest")
                .and_then(|d| d.as_str())
                .map(str::to_owned);
            st.manifests
                .insert(name.to_owned(), (req.body.clone(), media.clone()));
            st.manifests.insert(d.clone(), (req.body.clone(), media));
            let mut headers = vec![("Docker-Content-Digest", d)];
            if let Some(s) = subject {
                headers.push(("OCI-Subject", s));
            }
            respond(stream, 201, &headers, b"")
        }
        ("GET", "manifests") => match st.manifests.get(name) {
            Some((b, media)) => {
                let (b, media) = (b.clone(), media.clone());
                respond(stream, 200, &[("Content-Type", media)], &b)
            }
            None => respond(stream, 404, &[], b""),
        },
        ("GET", "referrers") => {
            st.referrers_asked += 1;
            let mut list = Vec::new();
            for (key, (b, _)) in &st.manifests {
                let v: serde_json::Value = serde_json::from_slice(b).unwrap_or_default();
                if key.starts_with("sha256:")
                    && v.pointer("/subject/digest").and_then(|d| d.as_str()) == Some(name)
                {
                    list.push(serde_json::json!({
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": key, "size": b.len(), "artifactType": v.get("artifactType"),
                    }));
                }
            }
            let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": list});
            respond(
                stream,
                200,
                &[(
                    "Content-Type",
                    "application/vnd.oci.image.index.v1+json".into(),
                )],
                &serde_json::to_vec(&index)?,
            )
        }
        _ => respond(stream, 405, &[], b""),
    }
}

fn serve_cdn(stream: &mut TcpStream, state: &Mutex<State>) -> Res<()> {
    let req = read_request(stream)?;
    let mut st = state.lock().map_err(|_| fail("poisoned"))?;
    st.cdn_saw_authorization |= req.headers.contains_key("authorization");
    let name = req.path.trim_start_matches("/cdn/").to_owned();
    match st.blobs.get(&name).cloned() {
        Some(b) => {
            st.cdn_served += 1;
            respond(stream, 200, &[], &b)
        }
        None => respond(stream, 404, &[], b""),
    }
}

impl Mock {
    fn start() -> Res<Mock> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let _ = handle(&mut stream, &shared, port);
            }
        });
        // A second origin serving blobs, as a CDN behind a registry's
        // redirect does; it records whether credentials reached it.
        let cdn = TcpListener::bind("127.0.0.1:0")?;
        state.lock().map_err(|_| fail("poisoned"))?.cdn_port = cdn.local_addr()?.port();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in cdn.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = serve_cdn(&mut stream, &shared);
            }
        });
        Ok(Mock { port, state })
    }
}

/// Push to a registry with the referrers API through the token flow: no
/// referrers tag is written (the registry keeps referrers), a token is
/// fetched with the config.json credentials, and a pull finds the evidence
/// through `GET /v2/REPO/referrers/DIGEST`. Without credentials the token
/// service refuses and so does lbom (exit 5).
#[test]
fn referrers_api_and_bearer_tokens() -> TestResult {
    let st = station(&tiny())?;
    let d = st.dir.path();
    let store = &st.store;

    let mock = Mock::start()?;
    let target = format!("oci://127.0.0.1:{}/models/tiny:v1", mock.port);
    let none = d.join("none.json");
    std::fs::write(&none, "{}")?;
    push(store, "stable", &target, &["--docker-config", s(&none)], 5)?;
    let config = d.join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths":{{"127.0.0.1:{}":{{"username":"{USER}","password":"{PASSWORD}"}}}}}}"#,
            mock.port
        ),
    )?;
    let out = push(
        store,
        "stable",
        &target,
        &["--docker-config", s(&config)],
        0,
    )?;
    assert!(!out.contains("referrers tag"), "{out}");
    let digest = pushed_digest(&out)?;
    {
        let st = mock.state.lock().map_err(|_| fail("poisoned"))?;
        assert!(st.tokens_issued >= 1);
        let tag = format!("sha256-{}", digest.trim_start_matches("sha256:"));
        assert!(
            !st.manifests.contains_key(&tag),
            "a referrers tag was written to a registry with the API"
        );
    }
    // Blobs now come from another origin, by redirect: served there, and
    // the registry's credentials never sent there.
    mock.state
        .lock()
        .map_err(|_| fail("poisoned"))?
        .redirect_blobs = true;
    let node = d.join("node");
    let source = format!("oci://127.0.0.1:{}/models/tiny@{digest}", mock.port);
    let pulled = pull(
        &source,
        &node,
        &st.node_policy,
        &["--create", "--docker-config", s(&config)],
        0,
    )?;
    assert!(pulled.contains("station receipt by station"), "{pulled}");
    assert!(
        mock.state
            .lock()
            .map_err(|_| fail("poisoned"))?
            .referrers_asked
            >= 1
    );
    let st = mock.state.lock().map_err(|_| fail("poisoned"))?;
    assert!(st.cdn_served >= 1, "no blob came through the redirect");
    assert!(
        !st.cdn_saw_authorization,
        "credentials were sent to the redirect's origin"
    );
    Ok(())
}
