//! `ferry dump-log`: kafka-dump-log.sh (Kafka 2.8's DumpLogSegments output). Reads segment
//! files directly: `.log` batches (and with `--deep-iteration`/`--print-data-log` their
//! records) through ferry-log's parsers, `.index` and `.timeindex` entries.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use ferry_log::{
    decompressed_records, read_varlong, verify_crc, BatchHeader, Compression, RecordIter,
};

#[derive(Args, Debug)]
pub struct DumpLogArgs {
    /// Segment files (.log, .index, .timeindex), comma-separated or repeated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub files: Vec<String>,
    /// Print each record's key and payload (implies --deep-iteration).
    #[arg(long = "print-data-log")]
    pub print_data_log: bool,
    /// Print each record, not only each batch.
    #[arg(long = "deep-iteration")]
    pub deep_iteration: bool,
}

pub fn run(args: DumpLogArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for file in &args.files {
        let path = Path::new(file);
        let bytes = std::fs::read(path).with_context(|| format!("reading {file}"))?;
        let base: i64 = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .with_context(|| {
                format!("{file}: a segment file is named by its 20-digit base offset")
            })?;
        writeln!(out, "Dumping {file}")?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("log") => {
                writeln!(out, "Starting offset: {base}")?;
                let deep = args.deep_iteration || args.print_data_log;
                dump_log(&bytes, deep, args.print_data_log, &mut out)?;
            }
            Some("index") => dump_entries(&bytes, 8, &mut out, |e| {
                format!(
                    "offset: {} position: {}",
                    base + i64::from(be_u32(&e[0..4])),
                    be_u32(&e[4..8])
                )
            })?,
            Some("timeindex") => dump_entries(&bytes, 12, &mut out, |e| {
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&e[0..8]);
                format!(
                    "timestamp: {} offset: {}",
                    i64::from_be_bytes(ts),
                    base + i64::from(be_u32(&e[8..12]))
                )
            })?,
            _ => bail!("{file}: not a .log, .index or .timeindex file"),
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn dump_entries(
    bytes: &[u8],
    size: usize,
    out: &mut impl Write,
    line: impl Fn(&[u8]) -> String,
) -> anyhow::Result<()> {
    for entry in bytes.chunks_exact(size) {
        // Kafka stops at the first all-zero entry after the first (preallocated space).
        writeln!(out, "{}", line(entry))?;
    }
    let rest = bytes.len() % size;
    if rest != 0 {
        writeln!(
            out,
            "Found {rest} trailing bytes that do not make a whole entry"
        )?;
    }
    Ok(())
}

fn codec_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "NONE",
        Compression::Gzip => "GZIP",
        Compression::Snappy => "SNAPPY",
        Compression::Lz4 => "LZ4",
        Compression::Zstd => "ZSTD",
    }
}

fn dump_log(bytes: &[u8], deep: bool, data: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let header = match BatchHeader::parse(rest, pos as u64) {
            Ok(h) if h.total_size() <= rest.len() => h,
            _ => {
                writeln!(
                    out,
                    "Found {} invalid bytes at the end of the segment",
                    rest.len()
                )?;
                break;
            }
        };
        let batch = &rest[..header.total_size()];
        let valid = verify_crc(batch, &header).is_ok();
        let last_sequence = if header.base_sequence < 0 {
            -1
        } else {
            header.base_sequence.wrapping_add(header.last_offset_delta)
        };
        let time_type = if header.is_log_append_time() {
            "LogAppendTime"
        } else {
            "CreateTime"
        };
        writeln!(
            out,
            "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {last_sequence} producerId: {} producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} position: {pos} {time_type}: {} size: {} magic: {} compresscodec: {} crc: {} isvalid: {valid}",
            header.base_offset,
            header.last_offset(),
            header.records_count,
            header.base_sequence,
            header.producer_id,
            header.producer_epoch,
            header.partition_leader_epoch,
            header.is_transactional(),
            header.is_control(),
            header.max_timestamp,
            header.total_size(),
            header.magic,
            codec_name(header.compression()),
            header.crc,
        )?;
        if deep {
            dump_records(&header, batch, data, out)?;
        }
        pos += header.total_size();
    }
    Ok(())
}

fn dump_records(
    header: &BatchHeader,
    batch: &[u8],
    data: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let records = match decompressed_records(header, batch) {
        Ok(Some(r)) => r,
        Ok(None) => {
            writeln!(
                out,
                "| (records not shown: {} compression is not readable here)",
                codec_name(header.compression())
            )?;
            return Ok(());
        }
        Err(e) => {
            writeln!(out, "| (records unreadable: {e})")?;
            return Ok(());
        }
    };
    let time_type = if header.is_log_append_time() {
        "LogAppendTime"
    } else {
        "CreateTime"
    };
    for (i, record) in RecordIter::new(&records, header.records_count).enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                writeln!(out, "| (record {i} unreadable: {e})")?;
                break;
            }
        };
        let timestamp = if header.is_log_append_time() {
            header.max_timestamp
        } else {
            header.base_timestamp + record.timestamp_delta
        };
        let sequence = if header.base_sequence < 0 {
            -1
        } else {
            header.base_sequence.wrapping_add(record.offset_delta)
        };
        let len = |b: Option<&[u8]>| b.map_or(-1, |b| b.len() as i64);
        write!(
            out,
            "| offset: {} {time_type}: {timestamp} keySize: {} valueSize: {} sequence: {sequence} headerKeys: [{}]",
            header.base_offset + i64::from(record.offset_delta),
            len(record.key),
            len(record.value),
            header_keys(record.raw, record.header_count),
        )?;
        if data {
            if let Some(key) = record.key {
                write!(out, " key: {}", String::from_utf8_lossy(key))?;
            }
            if let Some(value) = record.value {
                write!(out, " payload: {}", String::from_utf8_lossy(value))?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The header keys of a record, read from its raw bytes (ferry-log's `Record` counts headers
/// but does not keep them): they follow the value.
fn header_keys(raw: &[u8], count: i32) -> String {
    if count <= 0 {
        return String::new();
    }
    let mut pos = 0;
    let mut keys = Vec::new();
    let read = |pos: &mut usize| read_varlong(raw, pos).ok();
    let Some(_len) = read(&mut pos) else {
        return String::new();
    };
    pos += 1; // attributes
    let (Some(_ts), Some(_od)) = (read(&mut pos), read(&mut pos)) else {
        return String::new();
    };
    for _ in 0..2 {
        let Some(n) = read(&mut pos) else {
            return String::new();
        };
        pos += n.max(0) as usize;
    }
    let Some(_count) = read(&mut pos) else {
        return String::new();
    };
    for _ in 0..count {
        let Some(n) = read(&mut pos) else { break };
        let end = pos + n.max(0) as usize;
        let Some(key) = raw.get(pos..end) else { break };
        keys.push(String::from_utf8_lossy(key).into_owned());
        pos = end;
        let Some(v) = read(&mut pos) else { break };
        pos += v.max(0) as usize;
    }
    keys.join(", ")
}
