//! Building v2 record batches: what a producer does. The log itself never builds batches except
//! when the cleaner rewrites one; this is public for the broker's tests, tools and benchmarks.

use crate::batch::{self, Compression, HEADER_SIZE, MAGIC_V2, NO_PARTITION_LEADER_EPOCH};
use crate::compression;
use crate::record::encode_record;

/// Accumulates records and produces one batch with a valid CRC and base offset 0.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    base_timestamp: i64,
    max_timestamp: i64,
    records: Vec<u8>,
    count: i32,
    compression: Compression,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    control: bool,
}

impl BatchBuilder {
    /// A builder whose record timestamps are stored relative to `base_timestamp`.
    pub fn new(base_timestamp: i64) -> Self {
        BatchBuilder {
            base_timestamp,
            max_timestamp: batch::NO_TIMESTAMP,
            records: Vec::new(),
            count: 0,
            compression: Compression::None,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            control: false,
        }
    }

    /// Compress the records with `codec` (only none and gzip can be built here).
    pub fn compression(mut self, codec: Compression) -> Self {
        self.compression = codec;
        self
    }

    /// Idempotent-producer fields.
    pub fn producer(mut self, id: i64, epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = id;
        self.producer_epoch = epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Mark as a control batch (transaction marker).
    pub fn control(mut self) -> Self {
        self.control = true;
        self
    }

    /// Adds a record with the next offset delta.
    pub fn append(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: i64,
    ) -> &mut Self {
        self.append_with_headers(key, value, timestamp, &[])
    }

    /// Adds a record with headers.
    pub fn append_with_headers(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: i64,
        headers: &[(&[u8], Option<&[u8]>)],
    ) -> &mut Self {
        encode_record(
            &mut self.records,
            timestamp - self.base_timestamp,
            self.count,
            key,
            value,
            headers,
        );
        self.count += 1;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self
    }

    /// Number of records added so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True if no record was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Uncompressed size of the records added so far.
    pub fn records_size(&self) -> usize {
        self.records.len()
    }

    /// Produces the batch bytes. Unsupported codecs fall back to no compression.
    pub fn build(&self) -> Vec<u8> {
        let compressed = compression::compress(self.compression, &self.records);
        let (codec, records) = match &compressed {
            Some(r) => (self.compression, r.as_slice()),
            None => (Compression::None, self.records.as_slice()),
        };
        let mut attributes = codec.attribute_bits();
        if self.control {
            attributes |= 0x20;
        }
        let header = RawHeader {
            base_offset: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            attributes,
            last_offset_delta: (self.count - 1).max(0),
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: self.base_sequence,
        };
        header.encode_with(records, self.count)
    }
}

/// The header fields a rewritten batch keeps; used by the builder and the cleaner.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawHeader {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

impl RawHeader {
    pub(crate) fn from_header(h: &batch::BatchHeader) -> Self {
        RawHeader {
            base_offset: h.base_offset,
            partition_leader_epoch: h.partition_leader_epoch,
            attributes: h.attributes,
            last_offset_delta: h.last_offset_delta,
            base_timestamp: h.base_timestamp,
            max_timestamp: h.max_timestamp,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
        }
    }

    /// Serializes header + (already compressed) records and fills in length, count and CRC.
    pub(crate) fn encode_with(&self, records: &[u8], count: i32) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_SIZE + records.len());
        out.extend_from_slice(&self.base_offset.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes()); // length, filled below
        out.extend_from_slice(&self.partition_leader_epoch.to_be_bytes());
        out.push(MAGIC_V2 as u8);
        out.extend_from_slice(&0u32.to_be_bytes()); // crc, filled below
        out.extend_from_slice(&self.attributes.to_be_bytes());
        out.extend_from_slice(&self.last_offset_delta.to_be_bytes());
        out.extend_from_slice(&self.base_timestamp.to_be_bytes());
        out.extend_from_slice(&self.max_timestamp.to_be_bytes());
        out.extend_from_slice(&self.producer_id.to_be_bytes());
        out.extend_from_slice(&self.producer_epoch.to_be_bytes());
        out.extend_from_slice(&self.base_sequence.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(records);
        batch::finish_rewritten(&mut out, count);
        out
    }
}
