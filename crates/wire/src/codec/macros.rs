//! `enum_with_unknown!`: code points as enums that keep unknown values.

/// Declares a fieldless enum over an integer type, plus `Unknown(int)` and
/// lossless `From` conversions both ways, so a code point this crate has no
/// name for is a value, never an error, and survives parse and emit
/// unchanged (message types, option codes, status codes, MH types).
///
/// ```text
/// enum_with_unknown! {
///     /// DHCPv6 message type (RFC 8415 §7.3).
///     pub enum MessageType(u8) {
///         Solicit = 1,
///         ...
///     }
/// }
/// ```
macro_rules! enum_with_unknown {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($ty:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code point without a name here, kept as received.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(value: $name) -> $ty {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

pub(crate) use enum_with_unknown;

#[cfg(test)]
mod tests {
    enum_with_unknown! {
        /// A test registry with a gap and the top value named.
        pub(crate) enum Sample(u8) {
            One = 1,
            Three = 3,
            Top = 255,
        }
    }

    #[test]
    fn every_value_converts_losslessly() {
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(Sample::from(v)), v);
        }
        assert_eq!(Sample::from(3), Sample::Three);
        assert_eq!(Sample::from(2), Sample::Unknown(2));
        assert_eq!(Sample::from(255), Sample::Top);
        // An Unknown holding a named value still emits that value.
        assert_eq!(u8::from(Sample::Unknown(1)), 1);
    }
}
