//! The AWS emulator (moto in server mode, pinned in infra/requirements-emulator.txt, started
//! by infra/emulator.py), run as a child process on loopback that dies with us.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct Emulator {
    child: Option<Child>,
    pub endpoint: String,
}

impl Emulator {
    /// An emulator someone else started and stops.
    pub fn existing(endpoint: String) -> Self {
        Self { child: None, endpoint }
    }

    /// Uses `AWS_ENDPOINT_URL` when set; otherwise starts moto on `port` (0: any free port).
    pub fn start(port: u16) -> anyhow::Result<Self> {
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            return Ok(Self { child: None, endpoint });
        }
        let port = if port == 0 { free_port()? } else { port };
        let python = venv_python();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("emulator.py");
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut cmd);
        let child = cmd.spawn().with_context(|| {
            format!("starting the emulator with {} (`make dev` installs it)", python.display())
        })?;
        let emulator = Self { child: Some(child), endpoint: format!("http://127.0.0.1:{port}") };
        wait_for_port(port, Duration::from_secs(30))?;
        Ok(emulator)
    }

    /// The emulator's process id, when we started it (load runs report its memory).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The Python of the repository's venv, where the emulator is installed.
fn venv_python() -> PathBuf {
    std::env::var_os("EMULATOR_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the emulator did not listen on port {port} within {timeout:?}")
}

/// Asks the kernel to kill the child when the thread that spawned it exits, so a test run
/// or a killed `make dev` never leaves an emulator behind.
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}
