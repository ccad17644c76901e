//! States stored or printed as text, as types: [`text_enum!`] gives each one `as_str`,
//! `FromStr`, `Display`, serde and the postgres `ToSql`/`FromSql` of a text column, from
//! one list of variants and their words, so no state is a string compared by hand.

/// Define a state enum whose variants are stored and printed as the given words.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every state, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word stored and printed for this state.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "{:?} is not a {} (one of: {})",
                        other,
                        stringify!($name),
                        [$($text,)+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for String {
            fn from(s: $name) -> String {
                s.as_str().to_string()
            }
        }

        impl From<&$name> for String {
            fn from(s: &$name) -> String {
                s.as_str().to_string()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'a> postgres::types::FromSql<'a> for $name {
            fn from_sql(
                ty: &postgres::types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                let s = <&str as postgres::types::FromSql>::from_sql(ty, raw)?;
                Ok(s.parse::<$name>()?)
            }
            fn accepts(ty: &postgres::types::Type) -> bool {
                <&str as postgres::types::FromSql>::accepts(ty)
            }
        }

        impl postgres::types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &postgres::types::Type,
                out: &mut postgres::types::private::BytesMut,
            ) -> Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.as_str().to_sql(ty, out)
            }
            fn accepts(ty: &postgres::types::Type) -> bool {
                <&str as postgres::types::ToSql>::accepts(ty)
            }
            postgres::types::to_sql_checked!();
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A test state.
        pub enum Light {
            /// Go.
            Green = "green",
            /// Stop.
            Red = "red",
        }
    }

    #[test]
    fn words_round_trip_and_unknown_words_are_refused() {
        for l in Light::ALL {
            assert_eq!(l.as_str().parse::<Light>(), Ok(*l));
            assert_eq!(l.to_string(), l.as_str());
        }
        assert_eq!(serde_json::to_string(&Light::Red).unwrap(), "\"red\"");
        let e = "amber".parse::<Light>().unwrap_err();
        assert!(e.contains("green, red"), "{e}");
    }
}
