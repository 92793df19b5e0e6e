//! Registry credentials (docs/registry.md, "Authentication"): the user
//! name and password the Docker `config.json` holds for a registry, sent as
//! HTTP basic auth or traded for a bearer token, whichever the registry's
//! `WWW-Authenticate` challenge asks for (the distribution spec's token
//! flow). Credential helpers (`credsStore`, `credHelpers`) are not run:
//! lbom does not execute programs a config file names.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::error::RegistryError;

/// The largest `config.json` read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <password>)", self.username)
    }
}

impl Credentials {
    /// The `Authorization` header value of basic auth (RFC 7617).
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

/// Where the Docker config is: `$DOCKER_CONFIG/config.json`, else
/// `$HOME/.docker/config.json`.
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// The credentials `config` holds for `authority` (`HOST[:PORT]`, also
/// looked up as `https://HOST[:PORT]` and `http://…`); `None` when the file
/// is missing or names no such registry.
pub fn lookup(config: &Path, authority: &str) -> Result<Option<Credentials>, RegistryError> {
    let bad = |reason: String| RegistryError::Credentials {
        path: config.to_path_buf(),
        reason,
    };
    let file = match std::fs::File::open(config) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_CONFIG_BYTES + 1),
        &mut bytes,
    )
    .map_err(|e| bad(e.to_string()))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(bad(format!("larger than {MAX_CONFIG_BYTES} bytes")));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("does not parse: {e}")))?;
    let Some(auths) = value.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let keys = [
        authority.to_owned(),
        format!("https://{authority}"),
        format!("http://{authority}"),
    ];
    let Some(entry) = keys.iter().find_map(|k| auths.get(k)) else {
        return Ok(None);
    };
    if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
        let decoded = STANDARD
            .decode(auth)
            .map_err(|_| bad(format!("{authority}: \"auth\" is not base64")))?;
        let text = String::from_utf8(decoded)
            .map_err(|_| bad(format!("{authority}: \"auth\" is not UTF-8")))?;
        let (u, p) = text
            .split_once(':')
            .ok_or_else(|| bad(format!("{authority}: \"auth\" is not USER:PASSWORD")))?;
        return Ok(Some(Credentials {
            username: u.to_owned(),
            password: p.to_owned(),
        }));
    }
    let field = |name: &str| entry.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    match (field("username"), field("password")) {
        (Some(username), Some(password)) => Ok(Some(Credentials { username, password })),
        _ => Ok(None),
    }
}

/// A `WWW-Authenticate` challenge lbom can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm=…`.
    Basic,
    /// `Bearer realm=…,service=…,scope=…`: fetch a token from `realm`.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// `service`, when given.
        service: Option<String>,
        /// `scope`, when given.
        scope: Option<String>,
    },
}

/// Parse a challenge (RFC 7235 auth-params, quoted or not).
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, params) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut scope = None;
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (q.get(..end)?.to_owned(), q.get(end + 1..)?)
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after.get(..end)?.trim().to_owned(), after.get(end..)?)
        };
        match key.as_str() {
            "realm" => realm = Some(value),
            "service" => service = Some(value),
            "scope" => scope = Some(value),
            _ => {}
        }
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer {
        realm: realm?,
        service,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        assert_eq!(parse_challenge("Basic realm=\"r\""), Some(Challenge::Basic));
        assert_eq!(
            parse_challenge(
                "Bearer realm=\"https://auth.example/token\",service=\"reg\",scope=\"repository:m:pull,push\""
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("reg".into()),
                scope: Some("repository:m:pull,push".into()),
            })
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate abc"), None);
    }

    #[test]
    fn config_json_gives_basic_credentials() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("config.json");
        let auth = STANDARD.encode("alice:s3cr:et");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{auth}"}},"https://b.example":{{"username":"bob","password":"pw"}}}}}}"#
            ),
        )?;
        let a = lookup(&path, "127.0.0.1:5000")?;
        assert_eq!(
            a.map(|c| (c.username, c.password)),
            Some(("alice".into(), "s3cr:et".into()))
        );
        let b = lookup(&path, "b.example")?;
        assert_eq!(
            b.map(|c| c.basic()),
            Some(format!("Basic {}", STANDARD.encode("bob:pw")))
        );
        assert_eq!(lookup(&path, "c.example")?, None);
        assert_eq!(lookup(&dir.path().join("none.json"), "x")?, None);
        std::fs::write(&path, "{not json")?;
        assert!(lookup(&path, "x").is_err());
        Ok(())
    }
}
