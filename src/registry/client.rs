//! A small blocking client of the OCI distribution API (docs/registry.md,
//! "The client").
//!
//! Why not `oci-client`: measured for issue 19, `oci-client` 0.18 pulls
//! about 220 crates (an async runtime among them) into a tool whose users
//! read its dependency tree, and it re-serialises the manifest it is given
//! before pushing it, so the digest the registry stores is not the digest
//! of the bytes lbom wrote (and that a referrer's `subject` names). lbom
//! needs a dozen endpoints; this client sends exactly the bytes it is
//! given, reads with a size limit, and streams blobs in bounded chunks. It
//! stands on `ureq` 3 (blocking HTTP/1.1, rustls with ring, no async
//! runtime): a maintained crate, custom CA roots, and a small tree —
//! measured with `cargo tree -e normal` when it was added (ureq 3.5.2): 27
//! crates, 12 of them new to lbom (170 crates before, 182 after).
//!
//! Security rules: plain HTTP only to loopback unless the caller asks for
//! it ([`ClientOptions::insecure_http`]); every name put into a URL was
//! checked by [`super::reference`]; redirects are followed only for blob
//! reads (a registry may serve blobs from elsewhere) and what they serve is
//! hashed all the same.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::auth::{self, Challenge, Credentials};
use super::error::RegistryError;
use super::reference::Reference;
use crate::io::digest::{Hasher, Sha256Digest};

/// Blobs up to this size are uploaded from one buffer (`POST`, then `PUT`
/// with the bytes); larger ones are streamed in one `PATCH`.
pub const CHUNK_BYTES: usize = 16 << 20;
/// The largest manifest, index or token response read.
pub const MAX_DOCUMENT_BYTES: u64 = 4 << 20;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Plain HTTP to a host that is not loopback (`--insecure-http`).
    pub insecure_http: bool,
    /// Plain HTTP even to loopback is the default there; `https` forces TLS
    /// to loopback too (`--tls`).
    pub tls_on_loopback: bool,
    /// PEM file of extra CA certificates (`--ca-file`); replaces the
    /// built-in roots when given.
    pub ca_file: Option<PathBuf>,
    /// Docker `config.json` (`--docker-config`); default: $DOCKER_CONFIG or
    /// ~/.docker/config.json.
    pub docker_config: Option<PathBuf>,
}

/// A registry repository, reached over HTTP(S).
pub struct Client {
    agent: ureq::Agent,
    base: String,
    repository: String,
    credentials: Option<Credentials>,
    authorization: Mutex<Option<String>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({}/{})", self.base, self.repository)
    }
}

/// A response's status, headers lbom reads, and body.
pub(crate) struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub digest: Option<String>,
    pub subject: bool,
    pub content_type: Option<String>,
    pub content_range: Option<String>,
    pub body: ureq::Body,
    url: String,
    method: &'static str,
}

impl Answer {
    /// The body, at most `max` bytes.
    pub fn bytes(mut self, max: u64) -> Result<Vec<u8>, RegistryError> {
        let url = self.url.clone();
        self.body
            .with_config()
            .limit(max)
            .read_to_vec()
            .map_err(|e| RegistryError::Http {
                url,
                reason: e.to_string(),
            })
    }

    /// This status is unexpected: the error, with the start of the body.
    pub fn unexpected(self) -> RegistryError {
        let (method, url, status) = (self.method, self.url.clone(), self.status);
        let detail = self
            .bytes(4096)
            .map(|b| crate::safe::shorten(&crate::safe::visible(&String::from_utf8_lossy(&b)), 300))
            .unwrap_or_default();
        if status == 401 || status == 403 {
            return RegistryError::Unauthorized { url, detail };
        }
        RegistryError::Status {
            method,
            url,
            status,
            detail,
        }
    }
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn load_roots(
    path: &std::path::Path,
) -> Result<Vec<ureq::tls::Certificate<'static>>, RegistryError> {
    let bad = |reason: String| RegistryError::Credentials {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|e| bad(e.to_string()))? {
            ureq::tls::PemItem::Certificate(c) => certs.push(c.to_owned()),
            _ => return Err(bad("holds something other than certificates".into())),
        }
    }
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

impl Client {
    /// A client of `reference`'s repository.
    pub fn new(reference: &Reference, options: &ClientOptions) -> Result<Client, RegistryError> {
        let plain = reference.is_loopback() && !options.tls_on_loopback;
        let plain = plain || options.insecure_http;
        let scheme = if plain { "http" } else { "https" };
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(ca) = &options.ca_file {
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(load_roots(ca)?)));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .https_only(!plain)
            .max_redirects(0)
            .timeout_connect(Some(std::time::Duration::from_secs(30)))
            .user_agent(format!("lbom/{}", crate::TOOL_VERSION))
            .tls_config(tls.build())
            .build();
        let config_path = options
            .docker_config
            .clone()
            .or_else(auth::default_config_path);
        let credentials = match config_path {
            Some(p) => auth::lookup(&p, &reference.authority)?,
            None => None,
        };
        Ok(Client {
            agent: config.into(),
            base: format!("{scheme}://{}", reference.authority),
            repository: reference.repository.clone(),
            credentials,
            authorization: Mutex::new(None),
        })
    }

    /// `http://HOST[:PORT]` or `https://…`: plain HTTP only to loopback
    /// (unless [`ClientOptions::tls_on_loopback`]) or when asked for.
    #[cfg(any(test, feature = "internals"))]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The repository.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `BASE/v2/REPO/SUFFIX`.
    pub(crate) fn url(&self, suffix: &str) -> String {
        format!("{}/v2/{}/{suffix}", self.base, self.repository)
    }

    /// An upload `Location` (absolute, or a path on this registry).
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        }
    }

    fn current_authorization(&self) -> Option<String> {
        self.authorization.lock().ok().and_then(|a| a.clone())
    }

    /// Answer a 401's challenge: basic credentials, or a bearer token
    /// fetched with them (or anonymously).
    fn authenticate(&self, challenge: Option<&str>, url: &str) -> Result<(), RegistryError> {
        let refused = |detail: &str| RegistryError::Unauthorized {
            url: url.to_owned(),
            detail: detail.to_owned(),
        };
        let value = match challenge.and_then(auth::parse_challenge) {
            Some(Challenge::Basic) => match &self.credentials {
                Some(c) => c.basic(),
                None => {
                    return Err(refused(
                        "basic auth asked, and the Docker config holds no credentials for this registry",
                    ));
                }
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let scope =
                    scope.unwrap_or_else(|| format!("repository:{}:pull,push", self.repository));
                let mut req = self.agent.get(&realm).query("scope", &scope);
                if let Some(s) = &service {
                    req = req.query("service", s);
                }
                if let Some(c) = &self.credentials {
                    req = req.header("Authorization", &c.basic());
                }
                let mut resp = req.call().map_err(|e| RegistryError::Http {
                    url: realm.clone(),
                    reason: e.to_string(),
                })?;
                if resp.status().as_u16() != 200 {
                    return Err(refused(&format!(
                        "the token service answered {}",
                        resp.status().as_u16()
                    )));
                }
                let bytes = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_DOCUMENT_BYTES)
                    .read_to_vec()
                    .map_err(|e| RegistryError::Http {
                        url: realm.clone(),
                        reason: e.to_string(),
                    })?;
                let token: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|_| refused("the token service's answer is not JSON"))?;
                let token = token
                    .get("token")
                    .or_else(|| token.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| refused("the token service's answer holds no token"))?;
                format!("Bearer {token}")
            }
            None => return Err(refused("no challenge lbom can answer")),
        };
        if let Ok(mut a) = self.authorization.lock() {
            *a = Some(value);
        }
        Ok(())
    }

    /// Send a request with a body that can be sent again (after a 401).
    pub(crate) fn send(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, RegistryError> {
        let mut retried = false;
        loop {
            let answer = self.send_once(method, url, headers, body)?;
            if answer.answer.status == 401 && !retried {
                retried = true;
                let challenge = answer.challenge.clone();
                self.authenticate(challenge.as_deref(), url)?;
                continue;
            }
            return Ok(answer.answer);
        }
    }

    fn send_once(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Challenged, RegistryError> {
        let http = |e: ureq::Error| RegistryError::Http {
            url: url.to_owned(),
            reason: e.to_string(),
        };
        let builder = ureq::http::Request::builder().method(method).uri(url);
        let mut builder = headers.iter().fold(builder, |b, (k, v)| b.header(*k, *v));
        // Credentials go to the registry's own origin only, never to where
        // a blob redirect points (a CDN, a bucket).
        if url.starts_with(&format!("{}/", self.base))
            && let Some(a) = self.current_authorization()
        {
            builder = builder.header("Authorization", a);
        }
        let request = builder.body(body).map_err(|e| RegistryError::Http {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let resp = self.agent.run(request).map_err(http)?;
        let status = resp.status().as_u16();
        let challenge = header(&resp, "www-authenticate");
        let location = header(&resp, "location");
        let digest = header(&resp, "docker-content-digest");
        let subject = resp.headers().contains_key("oci-subject");
        let content_type = header(&resp, "content-type");
        let content_range = header(&resp, "content-range");
        Ok(Challenged {
            challenge,
            answer: Answer {
                status,
                location,
                digest,
                subject,
                content_type,
                content_range,
                body: resp.into_body(),
                url: url.to_owned(),
                method,
            },
        })
    }

    /// GET a blob, following redirects (a registry may serve blobs from a
    /// CDN), with this client's authorization on the registry's own URL
    /// only and `headers` (a `Range`) on every hop; what is served is
    /// checked by the caller wherever it came from.
    pub(crate) fn get_blob(
        &self,
        digest: &Sha256Digest,
        headers: &[(&str, &str)],
    ) -> Result<Answer, RegistryError> {
        let mut url = self.url(&format!("blobs/sha256:{}", digest.to_hex()));
        for _ in 0..5 {
            let answer = self.send("GET", &url, headers, &[])?;
            if matches!(answer.status, 301 | 302 | 303 | 307 | 308) {
                let Some(loc) = answer.location.clone() else {
                    return Err(answer.unexpected());
                };
                url = self.absolute(&loc);
                continue;
            }
            return Ok(answer);
        }
        Err(RegistryError::Http {
            url,
            reason: "too many redirects".into(),
        })
    }

    /// Whether the registry has the blob (`HEAD`).
    pub fn has_blob(&self, digest: &Sha256Digest) -> Result<bool, RegistryError> {
        let url = self.url(&format!("blobs/sha256:{}", digest.to_hex()));
        let answer = self.send("HEAD", &url, &[], &[])?;
        match answer.status {
            200 | 307 => Ok(true),
            404 => Ok(false),
            _ => Err(answer.unexpected()),
        }
    }

    /// Upload a blob read from `source` (`size` bytes, `digest`), hashing
    /// what it reads: up to [`CHUNK_BYTES`] from one buffer carried by the
    /// closing `PUT`, beyond that streamed in one `PATCH` (`stream_blob`);
    /// the session is closed with the digest (the registry checks it too). A source that is not `size` bytes with `digest` is
    /// refused before the session is closed, so the registry keeps nothing
    /// of it. Callers ask [`Self::has_blob`] first.
    ///
    /// `may_buffer`: whether a blob of up to [`CHUNK_BYTES`] may be read
    /// into one buffer; without it every blob is streamed (`push` keeps the
    /// buffers of its parallel uploads within one [`CHUNK_BYTES`] so).
    pub fn push_blob(
        &self,
        digest: &Sha256Digest,
        size: u64,
        source: &mut dyn Read,
        may_buffer: bool,
    ) -> Result<(), RegistryError> {
        let start = self.url("blobs/uploads/");
        let answer = self.send("POST", &start, &[("Content-Length", "0")], &[])?;
        if answer.status != 202 {
            return Err(answer.unexpected());
        }
        let location = self.upload_location(answer, &start)?;
        if !may_buffer || size > CHUNK_BYTES as u64 {
            return self.stream_blob(digest, size, source, &location);
        }
        // One buffer: read (one byte more than `size`, to see a longer
        // source), hash, check, and only then close the session with it.
        let mut buffer = vec![0u8; usize::try_from(size).unwrap_or(CHUNK_BYTES) + 1];
        let last = read_full(source, &mut buffer).map_err(|e| RegistryError::Http {
            url: location.clone(),
            reason: format!("reading the blob: {e}"),
        })?;
        let got = Sha256Digest::of(buffer.get(..last).unwrap_or_default());
        if last as u64 != size || got != *digest {
            return Err(RegistryError::Digest {
                what: "a blob read from the store while pushing".into(),
                want: format!("{size} bytes, sha256:{}", digest.to_hex()),
                got: if last as u64 > size {
                    format!("more than {size} bytes")
                } else {
                    format!("{last} bytes, sha256:{}", got.to_hex())
                },
            });
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let close = format!("{location}{sep}digest=sha256:{}", digest.to_hex());
        let len = last.to_string();
        let answer = self.send(
            "PUT",
            &close,
            &[
                ("Content-Type", "application/octet-stream"),
                ("Content-Length", &len),
            ],
            buffer.get(..last).unwrap_or_default(),
        )?;
        if answer.status != 201 {
            return Err(answer.unexpected());
        }
        Ok(())
    }

    /// A blob larger than one chunk: one streamed `PATCH` (chunked
    /// transfer encoding: reading, hashing and sending overlap, memory is
    /// ureq's buffer), then the closing `PUT` only if what was read is
    /// `size` bytes with `digest`; otherwise the session stays open and the
    /// registry keeps nothing.
    fn stream_blob(
        &self,
        digest: &Sha256Digest,
        size: u64,
        source: &mut dyn Read,
        location: &str,
    ) -> Result<(), RegistryError> {
        let mut hashed = Hashed {
            inner: source.take(size),
            hasher: Hasher::new(),
        };
        let mut request = self
            .agent
            .patch(location)
            .header("Content-Type", "application/octet-stream");
        if location.starts_with(&format!("{}/", self.base))
            && let Some(a) = self.current_authorization()
        {
            request = request.header("Authorization", &a);
        }
        let resp = request
            .send(ureq::SendBody::from_reader(&mut hashed))
            .map_err(|e| RegistryError::Http {
                url: location.to_owned(),
                reason: e.to_string(),
            })?;
        let status = resp.status().as_u16();
        let next = header(&resp, "location");
        if status != 202 {
            return Err(Answer {
                status,
                location: next,
                digest: None,
                subject: false,
                content_type: None,
                content_range: None,
                body: resp.into_body(),
                url: location.to_owned(),
                method: "PATCH",
            }
            .unexpected());
        }
        let location = next
            .map(|l| self.absolute(&l))
            .ok_or_else(|| RegistryError::Http {
                url: location.to_owned(),
                reason: "an upload answer without a Location".into(),
            })?;
        let total = hashed.hasher.bytes();
        let got = hashed.hasher.finish();
        if total != size || got != *digest {
            return Err(RegistryError::Digest {
                what: "a blob read from the store while pushing".into(),
                want: format!("{size} bytes, sha256:{}", digest.to_hex()),
                got: format!("{total} bytes, sha256:{}", got.to_hex()),
            });
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let close = format!("{location}{sep}digest=sha256:{}", digest.to_hex());
        let answer = self.send("PUT", &close, &[("Content-Length", "0")], &[])?;
        if answer.status != 201 {
            return Err(answer.unexpected());
        }
        Ok(())
    }

    fn upload_location(&self, answer: Answer, url: &str) -> Result<String, RegistryError> {
        match &answer.location {
            Some(l) => Ok(self.absolute(l)),
            None => Err(RegistryError::Http {
                url: url.to_owned(),
                reason: "an upload answer without a Location".into(),
            }),
        }
    }

    /// Upload a small blob held in memory.
    #[cfg(any(test, feature = "internals"))]
    pub fn push_bytes(&self, bytes: &[u8]) -> Result<Sha256Digest, RegistryError> {
        let digest = Sha256Digest::of(bytes);
        if !self.has_blob(&digest)? {
            let mut source = bytes;
            self.push_blob(&digest, bytes.len() as u64, &mut source, true)?;
        }
        Ok(digest)
    }

    /// Stream a blob into `out`, hashing it: refused (nothing more read)
    /// past `size` bytes, and unless it has exactly `size` bytes and
    /// `digest`. `out` must be discarded on error.
    pub fn fetch_blob(
        &self,
        digest: &Sha256Digest,
        size: u64,
        out: &mut dyn Write,
    ) -> Result<(), RegistryError> {
        let answer = self.get_blob(digest, &[])?;
        if answer.status != 200 {
            return Err(answer.unexpected());
        }
        let url = answer.url.clone();
        let mut reader = answer.body.into_reader().take(size.saturating_add(1));
        let mut hasher = Hasher::new();
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buffer).map_err(|e| RegistryError::Http {
                url: url.clone(),
                reason: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            let chunk = buffer.get(..n).unwrap_or_default();
            hasher.update(chunk);
            if hasher.bytes() > size {
                break;
            }
            out.write_all(chunk).map_err(|e| RegistryError::Http {
                url: url.clone(),
                reason: format!("writing what was read: {e}"),
            })?;
        }
        let n = hasher.bytes();
        let got = hasher.finish();
        if n != size || got != *digest {
            return Err(RegistryError::Digest {
                what: format!("blob sha256:{}", digest.to_hex()),
                want: format!("{size} bytes with that digest"),
                got: if n > size {
                    format!("more than {size} bytes")
                } else {
                    format!("{n} bytes, sha256:{}", got.to_hex())
                },
            });
        }
        Ok(())
    }

    /// A small blob, whole (at most [`MAX_DOCUMENT_BYTES`]).
    pub fn fetch_small(&self, digest: &Sha256Digest, size: u64) -> Result<Vec<u8>, RegistryError> {
        if size > MAX_DOCUMENT_BYTES {
            return Err(RegistryError::Artifact(format!(
                "blob sha256:{} is {size} bytes, more than the {MAX_DOCUMENT_BYTES} lbom reads whole",
                digest.to_hex()
            )));
        }
        let mut out = Vec::new();
        self.fetch_blob(digest, size, &mut out)?;
        Ok(out)
    }

    /// PUT a manifest's exact bytes under `reference` (a tag or
    /// `sha256:…`). Returns whether the registry said it processed its
    /// `subject` (`OCI-Subject`: it keeps referrers itself).
    pub fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<bool, RegistryError> {
        let url = self.url(&format!("manifests/{reference}"));
        let answer = self.send("PUT", &url, &[("Content-Type", media_type)], bytes)?;
        if answer.status != 201 {
            return Err(answer.unexpected());
        }
        let want = format!("sha256:{}", Sha256Digest::of(bytes).to_hex());
        if let Some(d) = &answer.digest
            && *d != want
        {
            return Err(RegistryError::Digest {
                what: format!("manifest stored at {url}"),
                want,
                got: crate::safe::visible(d),
            });
        }
        Ok(answer.subject)
    }

    /// GET a manifest or index: its exact bytes and media type; `None` on
    /// 404.
    pub fn get_manifest(
        &self,
        reference: &str,
    ) -> Result<Option<(Vec<u8>, String)>, RegistryError> {
        let url = self.url(&format!("manifests/{reference}"));
        let accept = format!(
            "{}, {}",
            super::layout::OCI_MANIFEST,
            super::layout::OCI_INDEX
        );
        let answer = self.send("GET", &url, &[("Accept", &accept)], &[])?;
        match answer.status {
            200 => {
                let media = answer.content_type.clone().unwrap_or_default();
                Ok(Some((answer.bytes(MAX_DOCUMENT_BYTES)?, media)))
            }
            404 => Ok(None),
            _ => Err(answer.unexpected()),
        }
    }

    /// The referrers API (`GET /v2/REPO/referrers/DIGEST`): the index, or
    /// `None` when the registry does not implement it (404).
    pub fn get_referrers(&self, digest: &Sha256Digest) -> Result<Option<Vec<u8>>, RegistryError> {
        let url = self.url(&format!("referrers/sha256:{}", digest.to_hex()));
        let answer = self.send("GET", &url, &[("Accept", super::layout::OCI_INDEX)], &[])?;
        match answer.status {
            200 => {
                let is_index = answer
                    .content_type
                    .as_deref()
                    .is_some_and(|c| c.starts_with(super::layout::OCI_INDEX));
                let bytes = answer.bytes(MAX_DOCUMENT_BYTES)?;
                Ok(is_index.then_some(bytes))
            }
            404 | 405 => Ok(None),
            _ => Err(answer.unexpected()),
        }
    }
}

/// A reader that hashes what it reads.
struct Hashed<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

struct Challenged {
    challenge: Option<String>,
    answer: Answer,
}

/// Fill `buf` from `r` (fewer bytes only at the end).
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(
        reference: &str,
        options: &ClientOptions,
    ) -> Result<String, Box<dyn std::error::Error>> {
        let r = Reference::parse(reference)?;
        let none = ClientOptions {
            docker_config: Some(PathBuf::from("/nonexistent/config.json")),
            ..options.clone()
        };
        Ok(Client::new(&r, &none)?.base().to_owned())
    }

    /// Plain HTTP only to loopback, or when asked for; TLS everywhere else.
    #[test]
    fn plain_http_only_to_loopback_or_when_asked() -> Result<(), Box<dyn std::error::Error>> {
        let default = ClientOptions::default();
        assert_eq!(
            base("oci://127.0.0.1:5000/m", &default)?,
            "http://127.0.0.1:5000"
        );
        assert_eq!(base("oci://localhost/m", &default)?, "http://localhost");
        assert_eq!(
            base("oci://registry.example/m", &default)?,
            "https://registry.example"
        );
        assert_eq!(
            base("oci://10.0.0.1:5000/m", &default)?,
            "https://10.0.0.1:5000"
        );
        let tls = ClientOptions {
            tls_on_loopback: true,
            ..ClientOptions::default()
        };
        assert_eq!(
            base("oci://127.0.0.1:5000/m", &tls)?,
            "https://127.0.0.1:5000"
        );
        let insecure = ClientOptions {
            insecure_http: true,
            ..ClientOptions::default()
        };
        assert_eq!(
            base("oci://registry.example/m", &insecure)?,
            "http://registry.example"
        );
        Ok(())
    }
}
