//! The kubelet remote-command protocol (k8s.io/apimachinery remotecommand,
//! versions channel.k8s.io and v2 to v4) on a SPDY session: the client opens
//! one stream per `streamType` (error, stdin, stdout, stderr, resize), the
//! runtime runs the command, and the outcome goes back on the error stream —
//! as text before v4, as a JSON metav1.Status from v4 on.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::spdy::{headers, Session, SpdyStream, StreamWriter};
use super::{
    AttachRequest, ExecRequest, RuntimeError, StreamRuntime, StreamingError, Streams, TermSize,
};

/// Remote-command subprotocols this server speaks, newest first.
pub const PROTOCOLS: &[&str] = &[
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
];

/// How long the client has to open every stream its request needs.
const STREAM_WAIT: Duration = Duration::from_secs(30);

/// What the URL's token stood for.
#[derive(Debug, Clone)]
pub(crate) enum Command {
    Exec(ExecRequest),
    Attach(AttachRequest),
}

impl Command {
    /// (stdin, stdout, stderr, tty)
    pub(crate) fn flags(&self) -> (bool, bool, bool, bool) {
        match self {
            Command::Exec(r) => (r.stdin, r.stdout, r.stderr, r.tty),
            Command::Attach(r) => (r.stdin, r.stdout, r.stderr, r.tty),
        }
    }
}

/// The client's streams by type.
#[derive(Default)]
struct Opened {
    error: Option<SpdyStream>,
    stdin: Option<SpdyStream>,
    stdout: Option<SpdyStream>,
    stderr: Option<SpdyStream>,
    resize: Option<SpdyStream>,
}

/// Serves one remote command on `session`, negotiated as `protocol`.
pub(crate) async fn serve(
    mut session: Session,
    protocol: &str,
    cmd: Command,
    rt: Arc<dyn StreamRuntime>,
) -> Result<(), StreamingError> {
    let v4 = protocol == PROTOCOLS[0];
    let resize_ok = protocol == PROTOCOLS[0] || protocol == PROTOCOLS[1];
    let (stdin, stdout, stderr, tty) = cmd.flags();
    let want = [
        ("error", true),
        ("stdin", stdin),
        ("stdout", stdout),
        ("stderr", stderr && !tty),
        ("resize", tty && resize_ok),
    ];
    let opened = collect(&mut session, &want).await?;
    let error = opened.error.ok_or(StreamingError::StreamTimeout("error"))?;
    let mut pumps = Vec::new();
    let streams = Streams {
        stdin: opened.stdin.map(|s| s.rx),
        stdout: opened.stdout.map(|s| output(s.tx, &mut pumps)),
        stderr: opened.stderr.map(|s| output(s.tx, &mut pumps)),
        resize: opened.resize.map(|s| resizes(s.rx)),
        gone: session.gone(),
    };
    let result = run_draining(&mut session, cmd, streams, &*rt).await;
    for pump in pumps {
        let _ = pump.await;
    }
    if let Some(text) = report(v4, &result) {
        let _ = error.tx.write(text.as_bytes()).await;
    }
    let _ = error.tx.close().await;
    session.close().await;
    Ok(())
}

/// Runs `cmd`: `Some(exit code)` for an exec, `None` for an attach.
pub(crate) async fn run(
    cmd: Command,
    streams: Streams,
    rt: &dyn StreamRuntime,
) -> Result<Option<i32>, RuntimeError> {
    match cmd {
        Command::Exec(req) => rt.exec(req, streams).await.map(Some),
        Command::Attach(req) => rt.attach(req, streams).await.map(|()| None),
    }
}

/// Runs `cmd` while taking any stream the client opens after those collected
/// (dropped: a reader left blocked handing one over would stop noticing the
/// client).
async fn run_draining(
    session: &mut Session,
    cmd: Command,
    streams: Streams,
    rt: &dyn StreamRuntime,
) -> Result<Option<i32>, RuntimeError> {
    let run = run(cmd, streams, rt);
    tokio::pin!(run);
    loop {
        tokio::select! {
            r = &mut run => return r,
            extra = session.accept() => match extra {
                Some(s) => tracing::debug!(stream = s.id, "ignoring a stream opened after the streams were collected"),
                None => return run.await,
            },
        }
    }
}

/// What goes on the error stream: a metav1.Status with `status` (v4 on),
/// else the failure as text and nothing on success.
pub(crate) fn report(status: bool, result: &Result<Option<i32>, RuntimeError>) -> Option<String> {
    if status {
        Some(status_json(result))
    } else {
        legacy_message(result)
    }
}

/// Accepts streams until every wanted type is open.
async fn collect(
    session: &mut Session,
    want: &[(&'static str, bool)],
) -> Result<Opened, StreamingError> {
    let mut opened = Opened::default();
    let missing = |o: &Opened| {
        let have = [&o.error, &o.stdin, &o.stdout, &o.stderr, &o.resize];
        want.iter()
            .zip(have)
            .find(|((_, w), h)| *w && h.is_none())
            .map(|((n, _), _)| *n)
    };
    let deadline = tokio::time::Instant::now() + STREAM_WAIT;
    while let Some(name) = missing(&opened) {
        let next = tokio::time::timeout_at(deadline, session.accept()).await;
        let Ok(Some(stream)) = next else {
            return Err(StreamingError::StreamTimeout(name));
        };
        let slot = match headers::get(&stream.headers, "streamtype") {
            Some("error") => &mut opened.error,
            Some("stdin") => &mut opened.stdin,
            Some("stdout") => &mut opened.stdout,
            Some("stderr") => &mut opened.stderr,
            Some("resize") => &mut opened.resize,
            other => {
                tracing::debug!(stream_type = ?other, "ignoring a stream of unknown type");
                continue;
            }
        };
        *slot = Some(stream);
    }
    Ok(opened)
}

/// A channel whose messages are written to `tx`, which is closed at the end.
pub(crate) fn output(tx: StreamWriter, pumps: &mut Vec<JoinHandle<()>>) -> mpsc::Sender<Vec<u8>> {
    let (send, mut recv) = mpsc::channel::<Vec<u8>>(16);
    pumps.push(tokio::spawn(async move {
        while let Some(data) = recv.recv().await {
            if tx.write(&data).await.is_err() {
                return;
            }
        }
        let _ = tx.close().await;
    }));
    send
}

/// Parses the resize stream: JSON `{"Width":w,"Height":h}` objects back to back.
pub(crate) fn resizes(mut rx: mpsc::Receiver<Vec<u8>>) -> mpsc::Receiver<TermSize> {
    let (send, recv) = mpsc::channel(8);
    tokio::spawn(async move {
        let mut buf = Vec::new();
        while let Some(data) = rx.recv().await {
            buf.extend_from_slice(&data);
            let mut it = serde_json::Deserializer::from_slice(&buf).into_iter::<TermSize>();
            let mut used = 0;
            loop {
                match it.next() {
                    Some(Ok(size)) => {
                        used = it.byte_offset();
                        if send.send(size).await.is_err() {
                            return;
                        }
                    }
                    Some(Err(e)) if e.is_eof() => break,
                    Some(Err(_)) => {
                        used = buf.len();
                        break;
                    }
                    None => break,
                }
            }
            buf.drain(..used);
            if buf.len() > MAX_RESIZE_PENDING {
                // No size object is this long: what is buffered is garbage.
                buf.clear();
            }
        }
    });
    recv
}

/// Most bytes of an unfinished resize object kept waiting for its end.
const MAX_RESIZE_PENDING: usize = 4096;

/// The v4 error-stream payload: a metav1.Status.
pub fn status_json(result: &Result<Option<i32>, RuntimeError>) -> String {
    let value = match result {
        Ok(None) | Ok(Some(0)) => serde_json::json!({"metadata": {}, "status": "Success"}),
        Ok(Some(code)) => serde_json::json!({
            "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        }),
        Err(e) => serde_json::json!({
            "metadata": {},
            "status": "Failure",
            "message": e.to_string(),
            "reason": "InternalError",
            "code": 500,
            "details": {"causes": [{"message": e.to_string()}]},
        }),
    };
    value.to_string()
}

/// The pre-v4 error-stream payload: the error text, nothing on success.
fn legacy_message(result: &Result<Option<i32>, RuntimeError>) -> Option<String> {
    match result {
        Ok(None) | Ok(Some(0)) => None,
        Ok(Some(code)) => Some(format!(
            "command terminated with non-zero exit code: {code}"
        )),
        Err(e) => Some(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_the_exit_code() {
        let v: serde_json::Value = serde_json::from_str(&status_json(&Ok(Some(3)))).unwrap();
        assert_eq!(v["status"], "Failure");
        assert_eq!(v["reason"], "NonZeroExitCode");
        assert_eq!(v["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(v["details"]["causes"][0]["message"], "3");
        let ok: serde_json::Value = serde_json::from_str(&status_json(&Ok(Some(0)))).unwrap();
        assert_eq!(ok["status"], "Success");
        assert_eq!(legacy_message(&Ok(Some(0))), None);
    }
}
