//! What a leader checks inside every batch a producer sends, before anything is appended, as
//! Kafka's `LogValidator` does: the header's record count agrees with its offsets, and every
//! record parses, in order, to exactly the batch's end — decompressing compressed batches to
//! look. The CRC only proves the bytes arrived as the client sent them; this proves a consumer
//! can read them. Nothing malformed may reach the log: a consumer that met a broken record
//! would fail on it, or skip what follows.
//!
//! The walk streams: records are checked field by field as they are decompressed, keys and
//! values are skipped rather than copied, so validating holds no more than the decoder's
//! buffer, whatever sizes the records claim. A batch whose records decompress to more than
//! [`RecordRules::max_decompressed`] bytes is refused (a decompression bomb).

use std::io::{self, BufRead, BufReader};

use crate::batch::{BatchHeader, Compression, HEADER_SIZE};
use crate::error::BatchError;

/// What the records must satisfy beyond being well formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRules {
    /// Every record needs a key (`cleanup.policy=compact`).
    pub require_keys: bool,
    /// The records come from a client, not from the broker's own coordinators: clients may
    /// not write control batches (transaction markers), and an idempotent batch of theirs
    /// needs a sequence number.
    pub from_client: bool,
    /// Most bytes a batch's records may decompress to.
    pub max_decompressed: usize,
}

/// Default [`RecordRules::max_decompressed`]: far above any real batch.
pub const MAX_DECOMPRESSED: usize = 256 << 20;

impl Default for RecordRules {
    fn default() -> Self {
        RecordRules {
            require_keys: false,
            from_client: true,
            max_decompressed: MAX_DECOMPRESSED,
        }
    }
}

/// Checks the records of one whole batch (`batch` starts at its header, which has been parsed
/// and CRC-checked).
pub fn validate_batch_records(
    batch: &[u8],
    header: &BatchHeader,
    rules: &RecordRules,
) -> Result<(), BatchError> {
    let invalid = |record: Option<i32>, reason: String| BatchError::InvalidRecord {
        position: header.position as usize,
        record,
        reason,
    };
    if rules.from_client && header.is_control() {
        return Err(invalid(
            None,
            "clients may not write control batches".into(),
        ));
    }
    let count = header.records_count;
    if count <= 0 {
        return Err(invalid(None, format!("invalid record count {count}")));
    }
    if i64::from(count) != i64::from(header.last_offset_delta) + 1 {
        return Err(invalid(
            None,
            format!(
                "record count {count} disagrees with the offset range 0..={}",
                header.last_offset_delta
            ),
        ));
    }
    if rules.from_client && header.producer_id >= 0 && header.base_sequence < 0 {
        return Err(invalid(
            None,
            format!(
                "invalid sequence number {} for producer {}",
                header.base_sequence, header.producer_id
            ),
        ));
    }
    let section = batch.get(HEADER_SIZE..).unwrap_or_default();
    let source = records_reader(header.compression(), section, rules.max_decompressed)
        .map_err(|reason| invalid(None, reason))?;
    let mut walker = Walker {
        source,
        consumed: 0,
        limit: rules.max_decompressed,
    };
    for index in 0..count {
        walker
            .record(index, rules)
            .map_err(|reason| invalid(Some(index), reason))?;
    }
    if walker.has_more().map_err(|reason| invalid(None, reason))? {
        return Err(invalid(
            None,
            format!("bytes remain after the {count} records the header declares"),
        ));
    }
    Ok(())
}

/// The records section as a buffered stream of decompressed bytes.
pub(crate) fn records_reader<'a>(
    codec: Compression,
    data: &'a [u8],
    limit: usize,
) -> Result<Box<dyn BufRead + 'a>, String> {
    const BUFFER: usize = 64 * 1024;
    Ok(match codec {
        Compression::None => Box::new(data),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUFFER,
            flate2::read::MultiGzDecoder::new(data),
        )),
        Compression::Snappy => Box::new(io::Cursor::new(snappy_decompress(data, limit)?)),
        Compression::Lz4 => Box::new(BufReader::with_capacity(
            BUFFER,
            lz4_flex::frame::FrameDecoder::new(data),
        )),
        Compression::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(data)
                .map_err(|e| format!("zstd data does not decompress: {e}"))?;
            Box::new(BufReader::with_capacity(BUFFER, decoder))
        }
    })
}

/// The magic that starts snappy-java's ("xerial") framing, which Kafka's Java clients write;
/// librdkafka writes the same or plain snappy, and Kafka reads both.
const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\0";
const XERIAL_HEADER: usize = 16;

fn snappy_decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let corrupt = |e: snap::Error| format!("snappy data does not decompress: {e}");
    let mut decoder = snap::raw::Decoder::new();
    let mut block = |compressed: &[u8], out: &mut Vec<u8>| -> Result<(), String> {
        let len = snap::raw::decompress_len(compressed).map_err(corrupt)?;
        if out.len() + len > limit {
            return Err(format!("records decompress to more than {limit} bytes"));
        }
        let start = out.len();
        out.resize(start + len, 0);
        decoder
            .decompress(compressed, &mut out[start..])
            .map_err(corrupt)?;
        Ok(())
    };
    let mut out = Vec::new();
    if !data.starts_with(XERIAL_MAGIC) {
        block(data, &mut out)?;
        return Ok(out);
    }
    let mut rest = data
        .get(XERIAL_HEADER..)
        .ok_or("snappy framing header cut short")?;
    while !rest.is_empty() {
        let Some((len, body)) = rest.split_first_chunk::<4>() else {
            return Err("snappy block length cut short".into());
        };
        let len = u32::from_be_bytes(*len) as usize;
        let Some(compressed) = body.get(..len) else {
            return Err(format!("snappy block of {len} bytes runs past the batch"));
        };
        block(compressed, &mut out)?;
        rest = &body[len..];
    }
    Ok(out)
}

/// Reads records off a decompressed stream, counting the bytes.
struct Walker<'a> {
    source: Box<dyn BufRead + 'a>,
    consumed: usize,
    limit: usize,
}

impl Walker<'_> {
    fn fill(&mut self) -> Result<&[u8], String> {
        if self.consumed > self.limit {
            return Err(format!(
                "records decompress to more than {} bytes",
                self.limit
            ));
        }
        self.source.fill_buf().map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::Other => {
                format!("compressed records do not decompress: {e}")
            }
            _ => format!("reading the records: {e}"),
        })
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self
            .fill()?
            .first()
            .ok_or("the records end before the header's count")?;
        self.source.consume(1);
        self.consumed += 1;
        Ok(byte)
    }

    fn skip(&mut self, mut n: usize) -> Result<(), String> {
        while n > 0 {
            let available = self.fill()?.len();
            if available == 0 {
                return Err("a record runs past the end of the batch".into());
            }
            let k = available.min(n);
            self.source.consume(k);
            self.consumed += k;
            n -= k;
        }
        Ok(())
    }

    fn has_more(&mut self) -> Result<bool, String> {
        Ok(!self.fill()?.is_empty())
    }

    /// An unsigned LEB128 value of at most `max_bytes` bytes, zig-zag decoded.
    fn varlong(&mut self, max_bytes: usize) -> Result<i64, String> {
        let mut raw = 0u64;
        for i in 0..max_bytes {
            let byte = self.byte()?;
            raw |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err("a varint is longer than its type allows".into())
    }

    fn varint(&mut self) -> Result<i32, String> {
        let value = self.varlong(5)?;
        i32::try_from(value).map_err(|_| format!("varint {value} overflows 32 bits"))
    }

    /// One record; `index` is its place in the batch (its offset delta must be that).
    fn record(&mut self, index: i32, rules: &RecordRules) -> Result<(), String> {
        let length = self.varint()?;
        if length <= 0 {
            return Err(format!("invalid record length {length}"));
        }
        let start = self.consumed;
        let _attributes = self.byte()?;
        let _timestamp_delta = self.varlong(10)?;
        let offset_delta = self.varint()?;
        if offset_delta != index {
            return Err(format!(
                "offset delta {offset_delta} where {index} was expected (offsets must increase by one)"
            ));
        }
        let key = self.field(start, length, "key")?;
        if key.is_none() && rules.require_keys {
            return Err("a compacted topic cannot accept a record without a key".into());
        }
        self.field(start, length, "value")?;
        let headers = self.varint()?;
        if headers < 0 {
            return Err(format!("invalid header count {headers}"));
        }
        for _ in 0..headers {
            if self.field(start, length, "header key")?.is_none() {
                return Err("a header has a null key".into());
            }
            self.field(start, length, "header value")?;
        }
        let read = self.consumed - start;
        if read != length as usize {
            return Err(format!(
                "the record says it has {length} bytes but its fields take {read}"
            ));
        }
        Ok(())
    }

    /// A length-prefixed field inside the record that began at `start` with `length` bytes:
    /// `None` for a null field; the bytes are skipped.
    fn field(&mut self, start: usize, length: i32, what: &str) -> Result<Option<()>, String> {
        let len = self.varint()?;
        if len < -1 {
            return Err(format!("invalid {what} length {len}"));
        }
        if len == -1 {
            return Ok(None);
        }
        let end = self.consumed + len as usize;
        if end > start + length as usize {
            return Err(format!(
                "the {what} ({len} bytes) runs past the end of its record"
            ));
        }
        self.skip(len as usize)?;
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{compute_crc, validate_record_set};
    use crate::builder::BatchBuilder;
    use crate::record::{write_varint, write_varlong};

    fn parsed(batch: &[u8]) -> BatchHeader {
        validate_record_set(batch, usize::MAX).expect("header and CRC")[0]
    }

    fn check(batch: &[u8], rules: &RecordRules) -> Result<(), BatchError> {
        validate_batch_records(batch, &parsed(batch), rules)
    }

    fn reason(result: Result<(), BatchError>) -> String {
        match result {
            Err(BatchError::InvalidRecord { reason, .. }) => reason,
            other => panic!("expected an invalid record, got {other:?}"),
        }
    }

    /// A batch with `records` as its (uncompressed) records section and a correct CRC.
    fn raw_batch(count: i32, records: &[u8], codec: Compression) -> Vec<u8> {
        let mut b = BatchBuilder::new(0);
        b.append(Some(b"k"), Some(b"v"), 0);
        let mut batch = b.build()[..HEADER_SIZE].to_vec();
        batch.extend_from_slice(records);
        let len = (batch.len() - 12) as i32;
        batch[8..12].copy_from_slice(&len.to_be_bytes());
        batch[21..23].copy_from_slice(&codec.attribute_bits().to_be_bytes());
        batch[23..27].copy_from_slice(&(count - 1).to_be_bytes());
        batch[57..61].copy_from_slice(&count.to_be_bytes());
        let crc = compute_crc(&batch);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        batch
    }

    fn record(offset_delta: i32, key: Option<&[u8]>, claimed_len: Option<i32>) -> Vec<u8> {
        let mut body = vec![0u8];
        write_varlong(&mut body, 0);
        write_varint(&mut body, offset_delta);
        match key {
            Some(k) => {
                write_varint(&mut body, k.len() as i32);
                body.extend_from_slice(k);
            }
            None => write_varint(&mut body, -1),
        }
        write_varint(&mut body, 1);
        body.push(b'v');
        write_varint(&mut body, 0);
        let mut out = Vec::new();
        write_varint(&mut out, claimed_len.unwrap_or(body.len() as i32));
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn well_formed_batches_pass_in_every_codec() {
        for codec in [Compression::None, Compression::Gzip] {
            let mut b = BatchBuilder::new(1_000).compression(codec);
            for i in 0..100u32 {
                b.append(Some(&i.to_be_bytes()), Some(b"value"), 1_000 + i64::from(i));
            }
            let batch = b.build();
            check(&batch, &RecordRules::default()).expect("valid");
        }
        let section: Vec<u8> = (0..3).flat_map(|i| record(i, Some(b"k"), None)).collect();
        let lz4 = lz4_flex::frame::FrameEncoder::new(Vec::new());
        let lz4 = {
            use std::io::Write;
            let mut lz4 = lz4;
            lz4.write_all(&section).unwrap();
            lz4.finish().unwrap()
        };
        check(
            &raw_batch(3, &lz4, Compression::Lz4),
            &RecordRules::default(),
        )
        .expect("lz4");
        let raw_snappy = snap::raw::Encoder::new().compress_vec(&section).unwrap();
        check(
            &raw_batch(3, &raw_snappy, Compression::Snappy),
            &RecordRules::default(),
        )
        .expect("plain snappy");
        let mut xerial = XERIAL_MAGIC.to_vec();
        xerial.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
        xerial.extend_from_slice(&(raw_snappy.len() as u32).to_be_bytes());
        xerial.extend_from_slice(&raw_snappy);
        check(
            &raw_batch(3, &xerial, Compression::Snappy),
            &RecordRules::default(),
        )
        .expect("xerial snappy");
    }

    #[test]
    fn a_record_claiming_a_huge_length_is_refused() {
        let mut section = record(0, Some(b"k"), Some(1 << 30));
        section.extend(record(1, Some(b"k"), None));
        let rules = RecordRules::default();
        let why = reason(check(&raw_batch(2, &section, Compression::None), &rules));
        assert!(why.contains("says it has 1073741824 bytes"), "{why}");
        // A field claiming more than its record holds.
        let mut section = record(0, Some(b"k"), None);
        section[4] = 0x7e; // the key length: 63 bytes in a record of 10
        let why = reason(check(&raw_batch(1, &section, Compression::None), &rules));
        assert!(why.contains("runs past the end of its record"), "{why}");
    }

    #[test]
    fn compressed_garbage_is_refused() {
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let batch = raw_batch(1, b"this is not compressed at all", codec);
            let why = reason(check(&batch, &RecordRules::default()));
            assert!(
                why.contains("decompress") || why.contains("end before"),
                "{codec:?}: {why}"
            );
        }
    }

    #[test]
    fn counts_offsets_trailing_bytes_and_keys() {
        let two: Vec<u8> = (0..2).flat_map(|i| record(i, Some(b"k"), None)).collect();
        let rules = RecordRules::default();
        assert!(
            reason(check(&raw_batch(3, &two, Compression::None), &rules)).contains("end before")
        );
        let why = reason(check(&raw_batch(1, &two, Compression::None), &rules));
        assert!(why.contains("bytes remain"), "{why}");
        let skipped: Vec<u8> = [record(0, Some(b"k"), None), record(2, Some(b"k"), None)].concat();
        let why = reason(check(&raw_batch(2, &skipped, Compression::None), &rules));
        assert!(why.contains("offset delta 2"), "{why}");
        let keyless = record(0, None, None);
        check(&raw_batch(1, &keyless, Compression::None), &rules).expect("keys optional");
        let compacted = RecordRules {
            require_keys: true,
            ..rules
        };
        let why = reason(check(
            &raw_batch(1, &keyless, Compression::None),
            &compacted,
        ));
        assert!(why.contains("without a key"), "{why}");
        let mut long = record(0, Some(b"k"), None);
        long[0] += 2; // claims two more bytes than its fields take
        long.extend_from_slice(&[0, 0]);
        let why = reason(check(&raw_batch(1, &long, Compression::None), &rules));
        assert!(why.contains("says it has"), "{why}");
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        use std::io::Write;
        let section: Vec<u8> = record(0, Some(&vec![0u8; 1 << 20]), None);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&section).unwrap();
        let batch = raw_batch(1, &gz.finish().unwrap(), Compression::Gzip);
        let small = RecordRules {
            max_decompressed: 64 * 1024,
            ..RecordRules::default()
        };
        let why = reason(check(&batch, &small));
        assert!(why.contains("more than 65536"), "{why}");
        check(&batch, &RecordRules::default()).expect("within the default limit");
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(
            section in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            count in 1i32..6,
            codec in 0usize..5,
        ) {
            let codec = [
                Compression::None,
                Compression::Gzip,
                Compression::Snappy,
                Compression::Lz4,
                Compression::Zstd,
            ][codec];
            let _ = check(&raw_batch(count, &section, codec), &RecordRules::default());
        }
    }
}
