//! Kafka's random ids: a version-4 UUID in URL-safe base64 without padding (22 characters), as
//! `CoreUtils.generateUuidAsBase64` (cluster id) and `Uuid.randomUuid` (topic id) make them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// A random version-4 UUID as 22 characters of URL-safe base64. Like Kafka's `Uuid`, never the
/// all-zero id and never one starting with `-` (which command lines would take for a flag).
pub fn random_base64_uuid() -> String {
    let mut rng = rand::thread_rng();
    loop {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let id = URL_SAFE_NO_PAD.encode(bytes);
        if !id.starts_with('-') {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_url_safe_chars_of_a_v4_uuid() {
        for _ in 0..100 {
            let id = random_base64_uuid();
            assert_eq!(id.len(), 22);
            assert!(!id.starts_with('-'));
            let bytes = URL_SAFE_NO_PAD.decode(&id).unwrap();
            assert_eq!(bytes[6] >> 4, 4);
            assert_eq!(bytes[8] >> 6, 0b10);
        }
    }
}
