//! A byte budget for YAML values as serde_yaml hands them out. serde_yaml keeps a document as
//! its list of events and replays an anchor's events at every alias, so a 1 MiB value aliased
//! many times costs nothing until a visitor copies it, and then costs its size per alias (a
//! 4 MiB Procfile made a dry run allocate 8 GB). `Counted` wraps the deserializer and every
//! visitor, seed and access it hands out, and charges each value's bytes (plus one per node)
//! to the budget before the visitor behind it sees, and so copies, the value: the count is of
//! the document as expanded, and the copy never happens once the budget is spent.

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use std::cell::Cell;
use std::fmt;

/// What is left of the bytes a document may expand to, and whether it ran out.
#[derive(Debug)]
pub struct Budget {
    left: Cell<u64>,
    spent: Cell<bool>,
}

impl Budget {
    pub fn new(bytes: u64) -> Self {
        Self {
            left: Cell::new(bytes),
            spent: Cell::new(false),
        }
    }

    /// True once a value did not fit: the parse failed for the budget, not the text.
    pub fn spent(&self) -> bool {
        self.spent.get()
    }

    /// Takes `bytes` and one for the node; an error once they do not fit.
    fn charge<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        let cost = (bytes as u64).saturating_add(1);
        if let Some(left) = self.left.get().checked_sub(cost) {
            self.left.set(left);
            Ok(())
        } else {
            self.spent.set(true);
            Err(E::custom("the values expand to more bytes than allowed"))
        }
    }
}

/// A deserializer (or visitor, seed, access) whose values are charged to `budget`.
pub struct Counted<'b, T> {
    pub inner: T,
    pub budget: &'b Budget,
}

impl<'b, T> Counted<'b, T> {
    pub fn new(inner: T, budget: &'b Budget) -> Self {
        Self { inner, budget }
    }

    fn wrap<U>(&self, inner: U) -> Counted<'b, U> {
        Counted {
            inner,
            budget: self.budget,
        }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
                let visitor = self.wrap(visitor);
                self.inner.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Counted<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Scalars: charged their size in bytes (numbers and the like: one node).
macro_rules! charge_scalar {
    ($($method:ident($v:ident: $ty:ty) => $bytes:expr;)*) => {
        $(
            fn $method<E: de::Error>(self, $v: $ty) -> Result<V::Value, E> {
                self.budget.charge::<E>($bytes)?;
                self.inner.$method($v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Counted<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    charge_scalar! {
        visit_bool(v: bool) => 0;
        visit_i8(v: i8) => 0;
        visit_i16(v: i16) => 0;
        visit_i32(v: i32) => 0;
        visit_i64(v: i64) => 0;
        visit_i128(v: i128) => 0;
        visit_u8(v: u8) => 0;
        visit_u16(v: u16) => 0;
        visit_u32(v: u32) => 0;
        visit_u64(v: u64) => 0;
        visit_u128(v: u128) => 0;
        visit_f32(v: f32) => 0;
        visit_f64(v: f64) => 0;
        visit_char(v: char) => v.len_utf8();
        visit_str(v: &str) => v.len();
        visit_borrowed_str(v: &'de str) => v.len();
        visit_string(v: String) => v.len();
        visit_bytes(v: &[u8]) => v.len();
        visit_borrowed_bytes(v: &'de [u8]) => v.len();
        visit_byte_buf(v: Vec<u8>) => v.len();
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.budget.charge::<E>(0)?;
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.budget.charge::<E>(0)?;
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        let d = self.wrap(d);
        self.inner.visit_some(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        let d = self.wrap(d);
        self.inner.visit_newtype_struct(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.budget.charge::<A::Error>(0)?;
        let seq = self.wrap(seq);
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.budget.charge::<A::Error>(0)?;
        let map = self.wrap(map);
        self.inner.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.budget.charge::<A::Error>(0)?;
        let data = self.wrap(data);
        self.inner.visit_enum(data)
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Counted<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        let d = self.wrap(d);
        self.inner.deserialize(d)
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Counted<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Counted<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'b, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Counted<'b, A> {
    type Error = A::Error;
    type Variant = Counted<'b, A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let seed = self.wrap(seed);
        let budget = self.budget;
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((
            value,
            Counted {
                inner: variant,
                budget,
            },
        ))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Counted<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}
