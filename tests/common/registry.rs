//! A real OCI registry for the tests: Debian's `docker-registry` (CNCF
//! distribution 2.8) started on 127.0.0.1 on a free port, with a fresh
//! storage folder, stopped when dropped. A missing binary is a failure
//! that names the set-up step installing it, never a skip.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Debian binary.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// skopeo, the independent OCI client.
pub const SKOPEO_BIN: &str = "/usr/bin/skopeo";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `name` at `path`, or a failure saying how to install it.
pub fn tool(path: &str, package: &str) -> Res<PathBuf> {
    let p = PathBuf::from(path);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{path} is missing: the registry tests need Debian's {package} package, which tests/tools/setup-venv.sh installs \
             (`make venv`, run by `make test`; or `sudo apt-get install -y {package}`)"
        )
        .into())
    }
}

/// A running registry.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub authority: String,
    /// Its folder: `config.yml`, `storage/`, `registry.log`.
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// Start one; with `htpasswd`, basic auth against that file (bcrypt).
    pub fn start(htpasswd: Option<&Path>) -> Res<Registry> {
        Registry::start_with(htpasswd, None)
    }

    /// [`Registry::start`], serving TLS with `(certificate, key)` (PEM).
    pub fn start_with(htpasswd: Option<&Path>, tls: Option<(&Path, &Path)>) -> Res<Registry> {
        Registry::start_config(htpasswd, tls, "")
    }

    /// A registry whose blob GETs and HEADs are answered with a `307` to
    /// `base_url` + the blob's storage path (`docker/registry/v2/blobs/…`,
    /// below [`Registry::storage_root`]): distribution's `redirect` storage
    /// middleware, as a registry in front of S3 or a CDN answers.
    pub fn start_redirecting(base_url: &str) -> Res<Registry> {
        Registry::start_config(
            None,
            None,
            &format!(
                "middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: {base_url}\n"
            ),
        )
    }

    fn start_config(
        htpasswd: Option<&Path>,
        tls: Option<(&Path, &Path)>,
        extra: &str,
    ) -> Res<Registry> {
        let bin = tool(REGISTRY_BIN, "docker-registry")?;
        let dir = tempfile::tempdir()?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let auth = htpasswd.map_or(String::new(), |p| {
                format!(
                    "auth:\n  htpasswd:\n    realm: lbom-test\n    path: {}\n",
                    p.display()
                )
            });
            let tls = tls.map_or(String::new(), |(cert, key)| {
                format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    cert.display(),
                    key.display()
                )
            });
            let config = format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: lbom-test-secret\n{tls}{auth}{extra}",
                dir.path().join("storage").display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config)?;
            let log = std::fs::File::create(dir.path().join("registry.log"))?;
            let mut child = Command::new(&bin)
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone()?))
                .stderr(Stdio::from(log))
                .spawn()?;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if let Some(status) = child.try_wait()? {
                    last = format!(
                        "docker-registry exited ({status}): {}",
                        std::fs::read_to_string(dir.path().join("registry.log"))
                            .unwrap_or_default()
                    );
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(Registry {
                        child,
                        authority: format!("127.0.0.1:{port}"),
                        dir,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        Err(format!("docker-registry did not start: {last}").into())
    }

    /// `oci://127.0.0.1:PORT/REPO…`.
    pub fn oci(&self, rest: &str) -> String {
        format!("oci://{}/{rest}", self.authority)
    }

    /// `docker://127.0.0.1:PORT/REPO…` (skopeo).
    pub fn docker(&self, rest: &str) -> String {
        format!("docker://{}/{rest}", self.authority)
    }

    /// The storage root (`docker/registry/v2/…` below it).
    pub fn storage(&self) -> PathBuf {
        self.storage_root().join("docker/registry/v2")
    }

    /// The filesystem driver's root directory.
    pub fn storage_root(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The stored file of blob `hex` (`blobs/sha256/ab/abcd…/data`).
    pub fn blob_path(&self, hex: &str) -> PathBuf {
        self.storage()
            .join("blobs/sha256")
            .join(hex.get(..2).unwrap_or_default())
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
