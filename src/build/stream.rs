//! A `Write` that hands fixed-size chunks to an async consumer, so the context is produced on a
//! blocking thread and streamed to the engine without ever being held whole.

use std::io::Write;

use bytes::Bytes;
use tokio::sync::mpsc;

/// Chunks this big go to the engine.
const CHUNK: usize = 256 * 1024;

pub struct ChunkWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    pub fn new(tx: mpsc::Sender<std::io::Result<Bytes>>) -> Self {
        Self {
            tx,
            buffer: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the engine stopped reading the build context",
            )
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
