//! The `message!` macro: declarative, versioned message structs.
//!
//! ```text
//! message! {
//!     /// doc
//!     pub struct ProduceRequest {
//!         transactional_id: Option<String> [versions 3.., nullable 3..],
//!         acks: i16,
//!         timeout_ms: i32,
//!         topics: Vec<TopicProduceData>,
//!     }
//! }
//! ```
//!
//! Each field may state, in brackets, `versions R` (the versions it is on
//! the wire; default all), `nullable R` (the versions where null is
//! allowed; default none) and `tag N` (a tagged field, written in flexible
//! versions within `versions` only when it differs from its default), and
//! after the brackets `= expr`, the value it takes in versions where it is
//! absent (default `Default::default()`). Nested structs are declared with
//! the same macro and inherit the version and flexibility of their parent.
//! Every struct gets an `unknown_tagged_fields` field that keeps tags it
//! does not know, so re-encoding is lossless.
//!
//! A field absent at a version is silently skipped on encode (Kafka's
//! "ignorable"); a null in a version where the field is not nullable is an
//! error both ways.

use std::ops::{Bound, RangeBounds};

use crate::error::{ProtocolError, Result};
use crate::out::Out;
use crate::primitives::Reader;
use crate::tagged::RawTaggedField;
use crate::wire::{Ctx, Wire};

/// Where one field is present, nullable and tagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    versions: (i16, i16),
    nullable: (i16, i16),
    tag: Option<u32>,
}

fn bounds(r: impl RangeBounds<i16>) -> (i16, i16) {
    let lo = match r.start_bound() {
        Bound::Included(&v) => v,
        Bound::Excluded(&v) => v.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let hi = match r.end_bound() {
        Bound::Included(&v) => v,
        Bound::Excluded(&v) => v.saturating_sub(1),
        Bound::Unbounded => i16::MAX,
    };
    (lo, hi)
}

impl FieldSpec {
    /// Present in every version, never nullable, not tagged.
    pub const ALL: FieldSpec = FieldSpec {
        versions: (0, i16::MAX),
        nullable: (1, 0),
        tag: None,
    };

    /// Sets the versions the field exists in.
    pub fn versions(self, r: impl RangeBounds<i16>) -> Self {
        Self {
            versions: bounds(r),
            ..self
        }
    }

    /// Sets the versions in which the field may be null.
    pub fn nullable(self, r: impl RangeBounds<i16>) -> Self {
        Self {
            nullable: bounds(r),
            ..self
        }
    }

    /// Makes the field a tagged field with this tag.
    pub fn tag(self, tag: u32) -> Self {
        Self {
            tag: Some(tag),
            ..self
        }
    }

    fn present(&self, v: i16) -> bool {
        self.versions.0 <= v && v <= self.versions.1
    }

    /// Whether the field is read in sequence (not tagged) at `ctx`.
    pub fn is_regular(&self, ctx: Ctx) -> bool {
        self.tag.is_none() && self.present(ctx.version)
    }

    /// Whether the field is the tagged field `tag` at `ctx`.
    pub fn is_tagged(&self, ctx: Ctx, tag: u32) -> bool {
        ctx.flexible && self.tag == Some(tag) && self.present(ctx.version)
    }

    fn check_null<T: Wire>(&self, v: &T, version: i16, field: &'static str) -> Result<()> {
        if v.is_null() && !(self.nullable.0 <= version && version <= self.nullable.1) {
            return Err(ProtocolError::NullNotAllowed { field, version });
        }
        Ok(())
    }
}

/// Reads one regular field, enforcing its nullability.
pub fn read_field<T: Wire>(
    r: &mut Reader,
    ctx: Ctx,
    spec: FieldSpec,
    name: &'static str,
) -> Result<T> {
    let v = T::read(r, ctx)?;
    spec.check_null(&v, ctx.version, name)?;
    Ok(v)
}

/// Decodes one known tagged field from its raw bytes.
pub fn read_tagged_field<T: Wire>(
    raw: &RawTaggedField,
    ctx: Ctx,
    spec: FieldSpec,
    name: &'static str,
) -> Result<T> {
    read_field(&mut Reader::new(raw.data.clone()), ctx, spec, name)
}

/// Writes one field if it exists at `ctx.version`: regular fields in line,
/// tagged ones (when not default) into `tagged` for the trailer.
pub fn write_field<T: Wire + PartialEq>(
    v: &T,
    default: &T,
    out: (&mut Out, &mut Vec<RawTaggedField>),
    ctx: Ctx,
    spec: FieldSpec,
    name: &'static str,
) -> Result<()> {
    let (buf, tagged) = out;
    if !spec.present(ctx.version) {
        return Ok(());
    }
    match spec.tag {
        None => {
            spec.check_null(v, ctx.version, name)?;
            v.write(buf, ctx)
        }
        Some(tag) if ctx.flexible && v != default => {
            spec.check_null(v, ctx.version, name)?;
            let mut b = Out::contiguous();
            v.write(&mut b, ctx)?;
            tagged.push(RawTaggedField {
                tag,
                data: b.into_contiguous().freeze(),
            });
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

/// The value of a field where it is absent: the given default or `Default`.
macro_rules! default_or {
    () => {
        Default::default()
    };
    ($d:expr) => {
        $d
    };
}
pub(crate) use default_or;

/// Defines a versioned message struct; see the module docs.
macro_rules! message {
    ($(
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty $([ $($key:ident $val:expr),* $(,)? ])? $(= $default:expr)?
            ),* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Tagged fields this crate does not know, kept for re-encoding.
            pub unknown_tagged_fields: $crate::tagged::TaggedFields,
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: $crate::message::default_or!($($default)?), )*
                    unknown_tagged_fields: Vec::new(),
                }
            }
        }

        impl $crate::wire::Wire for $name {
            fn write(&self, buf: &mut $crate::out::Out, ctx: $crate::wire::Ctx) -> $crate::error::Result<()> {
                let mut tagged = Vec::new();
                $(
                    let spec = $crate::message::FieldSpec::ALL $($(.$key($val))*)?;
                    let default: $ty = $crate::message::default_or!($($default)?);
                    $crate::message::write_field(
                        &self.$field, &default, (&mut *buf, &mut tagged), ctx, spec, stringify!($field),
                    )?;
                )*
                if ctx.flexible {
                    tagged.extend(self.unknown_tagged_fields.iter().cloned());
                    $crate::tagged::write_tagged(buf, tagged);
                }
                Ok(())
            }

            fn read(r: &mut $crate::primitives::Reader, ctx: $crate::wire::Ctx) -> $crate::error::Result<Self> {
                let mut this = Self::default();
                $(
                    let spec = $crate::message::FieldSpec::ALL $($(.$key($val))*)?;
                    if spec.is_regular(ctx) {
                        this.$field = $crate::message::read_field(r, ctx, spec, stringify!($field))?;
                    }
                )*
                if ctx.flexible {
                    for raw in $crate::tagged::read_tagged(r)? {
                        let mut known = false;
                        $(
                            let spec = $crate::message::FieldSpec::ALL $($(.$key($val))*)?;
                            if !known && spec.is_tagged(ctx, raw.tag) {
                                this.$field = $crate::message::read_tagged_field(&raw, ctx, spec, stringify!($field))?;
                                known = true;
                            }
                        )*
                        if !known {
                            this.unknown_tagged_fields.push(raw);
                        }
                    }
                }
                Ok(this)
            }
        }

        #[cfg(test)]
        impl $crate::testing::Sample for $name {
            fn sample(g: &mut $crate::testing::Gen) -> Self {
                Self {
                    $( $field: $crate::testing::Sample::sample(g), )*
                    unknown_tagged_fields: $crate::testing::Sample::sample(g),
                }
            }
        }
    )*};
}
pub(crate) use message;
