//! A TCP proxy in front of the test database that can cut every connection and refuse new
//! ones for a while (a database restart, as the service sees it), or stop answering while
//! keeping connections open (a database that hangs). It counts the bytes the service sends.
use std::sync::atomic::AtomicU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct DbProxy {
    pub port: u16,
    down: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    hang: watch::Sender<bool>,
    sent: Arc<AtomicU64>,
}

impl DbProxy {
    /// Proxies 127.0.0.1:<port> to `upstream` ("host:port").
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let (cut, cuts) = watch::channel(0u64);
        let (hang, hangs) = watch::channel(false);
        let sent = Arc::new(AtomicU64::new(0));
        let is_down = down.clone();
        let counter = sent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    drop(client); // refused: the server is away
                    continue;
                }
                let upstream = upstream.clone();
                let mut cuts = cuts.clone();
                let mut hangs = hangs.clone();
                let counter = counter.clone();
                // Only cuts after this connection was made close it.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    // A hanging server accepts and never answers.
                    if *hangs.borrow_and_update() {
                        let _ = hangs.wait_for(|h| !*h).await;
                        return;
                    }
                    let Ok(server) = TcpStream::connect(&upstream).await else { return };
                    let (mut from_client, mut to_server) = (client, server);
                    let (mut client_read, mut client_write) = from_client.split();
                    let (mut server_read, mut server_write) = to_server.split();
                    let upstream_copy = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = client_read.read(&mut buf).await?;
                            if n == 0 {
                                return Ok::<_, std::io::Error>(());
                            }
                            counter.fetch_add(n as u64, Ordering::SeqCst);
                            server_write.write_all(&buf[..n]).await?;
                        }
                    };
                    let hung = tokio::select! {
                        _ = upstream_copy => false,
                        _ = tokio::io::copy(&mut server_read, &mut client_write) => false,
                        _ = cuts.changed() => false, // both sockets close when dropped
                        hung = async { hangs.wait_for(|h| *h).await.is_ok() } => hung,
                    };
                    if hung {
                        // Hanging: keep both sockets open, forward nothing, until released.
                        let _ = hangs.wait_for(|h| !*h).await.is_ok();
                    }
                });
            }
        });
        Self { port, down, cut, hang, sent }
    }

    /// The database URL `url` (a PostgreSQL URL) rewritten to go through the proxy.
    pub fn url_for(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).unwrap();
        parsed.set_host(Some("127.0.0.1")).unwrap();
        parsed.set_port(Some(self.port)).unwrap();
        parsed.to_string()
    }

    /// Cuts every connection and refuses new ones until `up`.
    pub fn down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// The server stops answering: open connections stay open and forward nothing, new ones
    /// are accepted and never answered, until `release` (which then closes them).
    pub fn hang(&self) {
        self.hang.send_replace(true);
    }

    pub fn release(&self) {
        self.hang.send_replace(false);
    }

    /// Bytes the service has sent to the database so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

/// `host:port` of a PostgreSQL URL.
pub fn upstream_of(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    format!("{}:{}", parsed.host_str().unwrap_or("127.0.0.1"), parsed.port().unwrap_or(5432))
}
