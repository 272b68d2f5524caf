//! The machinery behind [`actions!`](crate::actions): how a declared field travels as wire
//! parameters (its [`Codec`]), where a secret sits in a request ([`SecretSlot`]), and what an
//! action does to an instance ([`Class`], [`Impact`]).
//!
//! A declaration names each field's wire name and, when it is not a plain scalar, its codec; the
//! macro derives from it the request struct, [`Action::params`](super::Action::params) (client),
//! `from_wire` (emulator and saved plans), the secret mapping and the emulator's handler trait.
//! Encoding and decoding are the two halves of one codec, so they cannot drift apart.

use serde::{Deserialize, Serialize};

use super::{ParamError, WireParams, wire_bool};
use crate::params::Params;
use kvsync_secrets::{Secret, SecretRef};

/// How disruptive a call is; ordered from harmless to destructive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// No effect on clients.
    None,
    /// A brief disconnect.
    Restart,
    /// Cannot be undone (needs `--allow-irreversible`).
    Irreversible,
    /// Deletes data or access (needs `--allow-destroy`).
    Destructive,
}

impl Impact {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Restart => "restart",
            Impact::Irreversible => "irreversible",
            Impact::Destructive => "destructive",
        }
    }
}

/// Whether an action reads or writes, and how disruptive a write is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Reads only.
    Read,
    /// Changes cloud state with this impact.
    Write(Impact),
}

/// Where a secret sits in a request: the value itself ([`Secret`], sent by the client and
/// received by the emulator) or a reference to where it is read from (the plan's type, resolved
/// only when the request is sent).
pub trait SecretSlot: Sized {
    /// Adds the slot as parameter `name`.
    fn put(&self, name: &str, params: &mut Params);
    /// Reads the slot from the parameter's text.
    fn take(name: &str, text: &str) -> Result<Self, ParamError>;
}

impl SecretSlot for Secret {
    fn put(&self, name: &str, params: &mut Params) {
        params.set_secret(name, self.clone());
    }

    fn take(_: &str, text: &str) -> Result<Self, ParamError> {
        Ok(Secret::new(text))
    }
}

/// In a plan, a secret parameter shows its reference (`{env: NAME}`), and reads back from it.
impl SecretSlot for SecretRef {
    fn put(&self, name: &str, params: &mut Params) {
        params.set(name, self.to_string());
    }

    fn take(name: &str, text: &str) -> Result<Self, ParamError> {
        let invalid = || ParamError::Invalid {
            name: name.to_owned(),
            value: text.to_owned(),
        };
        let inner = text
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .ok_or_else(invalid)?;
        match inner.split_once(": ") {
            Some(("env", variable)) if !variable.is_empty() => Ok(SecretRef::Env(variable.into())),
            Some(("file", path)) if !path.is_empty() => Ok(SecretRef::File(path.into())),
            _ => Err(invalid()),
        }
    }
}

/// How a field of type `T` is written as parameters and read back. Absent optional values
/// write nothing; an empty wire value reads as absent.
pub trait Codec<T> {
    /// Writes `value` as parameter(s) named after `name`.
    fn put(value: &T, name: &str, params: &mut Params);
    /// Reads the field from the parameters of a request.
    fn take(wire: WireParams<'_>, name: &str) -> Result<T, ParamError>;
    /// Replaces `placeholder` by `id` wherever the field holds an instance ID.
    fn bind(_value: &mut T, _placeholder: &str, _id: &str) {}
}

/// Scalars as their text: strings, decimal numbers, `true`/`false`. A bare `T` is required, an
/// `Option<T>` optional.
#[derive(Debug)]
pub struct Plain;

impl Codec<String> for Plain {
    fn put(value: &String, name: &str, params: &mut Params) {
        params.set(name, value.as_str());
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<String, ParamError> {
        Ok(wire.required(name)?.to_owned())
    }
    fn bind(value: &mut String, placeholder: &str, id: &str) {
        if value == placeholder {
            *value = id.to_owned();
        }
    }
}

impl Codec<Option<String>> for Plain {
    fn put(value: &Option<String>, name: &str, params: &mut Params) {
        params.set_opt(name, value.as_deref());
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Option<String>, ParamError> {
        Ok(wire.string(name))
    }
    fn bind(value: &mut Option<String>, placeholder: &str, id: &str) {
        if let Some(value) = value {
            <Plain as Codec<String>>::bind(value, placeholder, id);
        }
    }
}

impl Codec<u64> for Plain {
    fn put(value: &u64, name: &str, params: &mut Params) {
        params.set(name, value.to_string());
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<u64, ParamError> {
        wire.u64(name)?
            .ok_or_else(|| ParamError::Missing(name.to_owned()))
    }
}

impl Codec<Option<u64>> for Plain {
    fn put(value: &Option<u64>, name: &str, params: &mut Params) {
        params.set_opt(name, value.map(|n| n.to_string()));
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Option<u64>, ParamError> {
        wire.u64(name)
    }
}

impl Codec<Option<i64>> for Plain {
    fn put(value: &Option<i64>, name: &str, params: &mut Params) {
        params.set_opt(name, value.map(|n| n.to_string()));
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Option<i64>, ParamError> {
        wire.optional(name)
            .map(|text| text.trim().parse().map_err(|_| invalid(name, text)))
            .transpose()
    }
}

impl Codec<Option<bool>> for Plain {
    fn put(value: &Option<bool>, name: &str, params: &mut Params) {
        params.set_opt(name, value.map(wire_bool));
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Option<bool>, ParamError> {
        wire.bool(name)
    }
}

/// A boolean written as Python's `str(bool)`, `True` or `False` (`RetainClassic`, as the SDK
/// sends it); read case-insensitively.
#[derive(Debug)]
pub struct Capitalised;

impl Codec<Option<bool>> for Capitalised {
    fn put(value: &Option<bool>, name: &str, params: &mut Params) {
        params.set_opt(name, value.map(|on| if on { "True" } else { "False" }));
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Option<bool>, ParamError> {
        wire.bool(name)
    }
}

/// A yes/no flag written `1` or `0` (`EnableBackupLog`).
#[derive(Debug)]
pub struct Flag;

impl Codec<Option<bool>> for Flag {
    fn put(value: &Option<bool>, name: &str, params: &mut Params) {
        params.set_opt(name, value.map(|on| if on { "1" } else { "0" }));
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Option<bool>, ParamError> {
        match wire.optional(name) {
            None => Ok(None),
            Some("1") => Ok(Some(true)),
            Some("0") => Ok(Some(false)),
            Some(text) => Err(invalid(name, text)),
        }
    }
}

/// A required list sent comma-joined (`SecurityIps`); entries are kept as sent, so malformed
/// lists reach the emulator's validation.
#[derive(Debug)]
pub struct Comma;

impl Codec<Vec<String>> for Comma {
    fn put(value: &Vec<String>, name: &str, params: &mut Params) {
        params.set(name, value.join(","));
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Vec<String>, ParamError> {
        Ok(wire.required(name)?.split(',').map(str::to_owned).collect())
    }
}

/// A 1-based list `Name.1`, `Name.2`, … that may be empty (`TagKey.N`).
#[derive(Debug)]
pub struct Indexed;

impl Codec<Vec<String>> for Indexed {
    fn put(value: &Vec<String>, name: &str, params: &mut Params) {
        for (index, item) in value.iter().enumerate() {
            params.set(format!("{name}.{}", index + 1), item.as_str());
        }
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Vec<String>, ParamError> {
        wire.list(name)
    }
    fn bind(value: &mut Vec<String>, placeholder: &str, id: &str) {
        for item in value {
            <Plain as Codec<String>>::bind(item, placeholder, id);
        }
    }
}

/// A 1-based list with at least one entry (`ResourceId.N`).
#[derive(Debug)]
pub struct IndexedRequired;

impl Codec<Vec<String>> for IndexedRequired {
    fn put(value: &Vec<String>, name: &str, params: &mut Params) {
        <Indexed as Codec<Vec<String>>>::put(value, name, params);
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Vec<String>, ParamError> {
        non_empty(wire.list(name)?, name)
    }
    fn bind(value: &mut Vec<String>, placeholder: &str, id: &str) {
        <Indexed as Codec<Vec<String>>>::bind(value, placeholder, id);
    }
}

/// A 1-based list of `Name.N.Key`/`Name.N.Value` pairs that may be empty.
#[derive(Debug)]
pub struct Pairs;

impl Codec<Vec<(String, String)>> for Pairs {
    fn put(value: &Vec<(String, String)>, name: &str, params: &mut Params) {
        params.set_key_values(name, value.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Vec<(String, String)>, ParamError> {
        wire.key_values(name)
    }
}

/// A 1-based list of pairs with at least one entry (`TagResources`' `Tag.N`).
#[derive(Debug)]
pub struct PairsRequired;

impl Codec<Vec<(String, String)>> for PairsRequired {
    fn put(value: &Vec<(String, String)>, name: &str, params: &mut Params) {
        <Pairs as Codec<Vec<(String, String)>>>::put(value, name, params);
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Vec<(String, String)>, ParamError> {
        non_empty(wire.key_values(name)?, name)
    }
}

/// A required secret.
#[derive(Debug)]
pub struct Hidden;

impl<S: SecretSlot> Codec<S> for Hidden {
    fn put(value: &S, name: &str, params: &mut Params) {
        value.put(name, params);
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<S, ParamError> {
        S::take(name, wire.required(name)?)
    }
}

/// An optional secret.
#[derive(Debug)]
pub struct HiddenOpt;

impl<S: SecretSlot> Codec<Option<S>> for HiddenOpt {
    fn put(value: &Option<S>, name: &str, params: &mut Params) {
        if let Some(value) = value {
            value.put(name, params);
        }
    }
    fn take(wire: WireParams<'_>, name: &str) -> Result<Option<S>, ParamError> {
        wire.optional(name)
            .map(|text| S::take(name, text))
            .transpose()
    }
}

fn non_empty<T>(items: Vec<T>, name: &str) -> Result<Vec<T>, ParamError> {
    if items.is_empty() {
        Err(ParamError::Missing(name.to_owned()))
    } else {
        Ok(items)
    }
}

fn invalid(name: &str, value: &str) -> ParamError {
    ParamError::Invalid {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// The codec of a field: the one named in its declaration, [`Plain`] otherwise.
#[doc(hidden)]
#[macro_export]
macro_rules! __codec {
    () => {
        $crate::actions::declare::Plain
    };
    ($codec:ident) => {
        $crate::actions::declare::$codec
    };
}

/// Reads a field, falling back to its declared default when it is absent.
#[doc(hidden)]
#[macro_export]
macro_rules! __take {
    ($wire:expr, $name:expr, $ty:ty, [$($codec:ident)?]) => {
        <$crate::__codec!($($codec)?) as $crate::actions::declare::Codec<$ty>>::take(
            $wire, $name,
        )?
    };
    ($wire:expr, $name:expr, $ty:ty, [$($codec:ident)?], $default:expr) => {
        <$crate::__codec!($($codec)?) as $crate::actions::declare::Codec<Option<$ty>>>::take(
            $wire, $name,
        )?
        .unwrap_or($default)
    };
}

/// Maps a field through the secret resolver when it is a secret, moves it otherwise.
#[doc(hidden)]
#[macro_export]
macro_rules! __map_secret {
    (Hidden, $value:expr, $resolve:expr) => {
        $resolve($value)?
    };
    (HiddenOpt, $value:expr, $resolve:expr) => {
        match $value {
            Some(value) => Some($resolve(value)?),
            None => None,
        }
    };
    ($($other:ident)?, $value:expr, $resolve:expr) => {
        $value
    };
}

/// Collects a reference to a field's secret when it is one.
#[doc(hidden)]
#[macro_export]
macro_rules! __secret_of {
    (Hidden, $value:expr, $out:expr) => {
        $out.push($value)
    };
    (HiddenOpt, $value:expr, $out:expr) => {
        if let Some(value) = $value {
            $out.push(value)
        }
    };
    ($($other:ident)?, $value:expr, $out:expr) => {{
        let _ = &$value;
    }};
}

/// Declares every API action once: its wire name, request fields with their wire names and
/// codecs, response type, idempotency token and class. From the one list it derives, per
/// action, the request struct with [`Action`](crate::actions::Action) (`params`) and
/// `from_wire`; across actions, [`Request`](crate::actions::Request) (any request, with
/// its secrets as a type parameter), and the emulator's
/// [`Handler`](crate::actions::Handler) trait with one method per action and its
/// exhaustive [`dispatch`](crate::actions::dispatch).
#[macro_export]
macro_rules! actions {
    ($(
        $(#[$meta:meta])*
        $name:ident $(<$s:ident>)? = $wire_name:literal as $method:ident {
            response: $response:ty,
            class: $class:ident $(($impact:ident))?,
            token: $token:expr,
            fields: {
                $(
                    $(#[$field_meta:meta])*
                    $field:ident : $ty:ty = $param:literal $(as $codec:ident)? $(or $default:expr)?
                ),* $(,)?
            }
        }
    )*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, Default, PartialEq)]
            pub struct $name $(<$s = $crate::Secret>)? {
                $(
                    $(#[$field_meta])*
                    pub $field: $ty,
                )*
            }

            impl<$($s: $crate::actions::declare::SecretSlot)?> $crate::actions::Action
                for $name $(<$s>)?
            {
                const NAME: &'static str = $wire_name;
                const CLASS: $crate::actions::declare::Class =
                    $crate::actions::declare::Class::$class
                        $(($crate::actions::declare::Impact::$impact))?;
                const TOKEN: Option<&'static str> = $token;
                type Response = $response;
                type Secrets = $crate::__secret_type!($($s)?);

                fn params(&self) -> $crate::params::Params {
                    #[allow(unused_mut)]
                    let mut params = $crate::params::Params::new();
                    $(
                        <$crate::__codec!($($codec)?) as $crate::actions::declare::Codec<$ty>>::put(
                            &self.$field, $param, &mut params,
                        );
                    )*
                    params
                }
            }

            impl<$($s: $crate::actions::declare::SecretSlot)?> $name $(<$s>)? {
                /// Parses the request from its wire parameters (the emulator's side, and saved
                /// plans).
                pub fn from_wire(
                    #[allow(unused_variables)] wire: $crate::actions::WireParams<'_>,
                ) -> Result<Self, $crate::actions::ParamError> {
                    Ok($name {
                        $( $field: $crate::__take!(wire, $param, $ty, [$($codec)?] $(, $default)?), )*
                    })
                }

                /// Replaces `placeholder` by `id` wherever the request names an instance.
                #[allow(unused_variables)]
                pub fn bind(&mut self, placeholder: &str, id: &str) {
                    $(
                        <$crate::__codec!($($codec)?) as $crate::actions::declare::Codec<$ty>>::bind(
                            &mut self.$field, placeholder, id,
                        );
                    )*
                }

                /// The secrets the request carries.
                #[allow(unused_mut)]
                pub fn secrets(&self) -> Vec<&$crate::__secret_type!($($s)?)> {
                    let mut out = Vec::new();
                    $( $crate::__secret_of!($($codec)?, &self.$field, out); )*
                    out
                }
            }
        )*

        /// Any request, with its secrets as `S`: references in a plan, values when sent.
        // `CreateInstance` declares many more fields than the other requests; a plan holds a
        // few requests, so their size does not matter and boxing one would only cost clarity.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request<S = $crate::Secret> {
            $(
                $(#[$meta])*
                $name($name $(<$s>)?),
            )*
        }

        impl<S: $crate::actions::declare::SecretSlot> Request<S> {
            /// The `Action` parameter.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Request::$name(_) => $wire_name, )*
                }
            }

            /// Whether the call reads or writes, and its impact.
            pub fn class(&self) -> $crate::actions::declare::Class {
                match self {
                    $( Request::$name(_) => <$name $(<$s>)? as $crate::actions::Action>::CLASS, )*
                }
            }

            /// Every parameter the request sends (common and signature parameters aside).
            pub fn params(&self) -> $crate::params::Params {
                match self {
                    $( Request::$name(request) => $crate::actions::Action::params(request), )*
                }
            }

            /// The request named `action`, parsed from its parameters; `None` for an action
            /// that is not declared.
            pub fn from_wire(
                action: &str,
                wire: $crate::actions::WireParams<'_>,
            ) -> Option<Result<Self, $crate::actions::ParamError>> {
                Some(match action {
                    $( $wire_name => <$name $(<$s>)?>::from_wire(wire).map(Request::$name), )*
                    _ => return None,
                })
            }

            /// Replaces `placeholder` by `id` wherever the request names an instance.
            pub fn bind(&mut self, placeholder: &str, id: &str) {
                match self {
                    $( Request::$name(request) => request.bind(placeholder, id), )*
                }
            }

            /// The secrets the request carries.
            pub fn secrets(&self) -> Vec<&S> {
                match self {
                    $( Request::$name(request) => $crate::__secrets_as!(request $(, $s)?), )*
                }
            }

            /// The same request with every secret passed through `resolve`.
            #[allow(unused_variables)]
            pub fn map_secrets<T, E>(
                self,
                mut resolve: impl FnMut(S) -> Result<T, E>,
            ) -> Result<Request<T>, E> {
                #[allow(unused_variables)]
                let resolve = &mut resolve;
                Ok(match self {
                    $(
                        Request::$name(request) => Request::$name($name {
                            $( $field: $crate::__map_secret!($($codec)?, request.$field, resolve), )*
                        }),
                    )*
                })
            }
        }

        /// The emulator's side: one method per declared action, so an action the emulator
        /// does not handle is a compile error. Requests arrive parsed.
        pub trait Handler {
            /// A successful answer.
            type Output;
            /// A refusal; a parameter that does not parse becomes one.
            type Error: From<$crate::actions::ParamError>;
            /// What every call sees besides its request (the time, say).
            type Context;
            $(
                #[doc = concat!("Handles `", $wire_name, "`.")]
                fn $method(
                    &mut self,
                    request: $crate::__emulated!($name $(, $s)?),
                    ctx: &Self::Context,
                ) -> Result<Self::Output, Self::Error>;
            )*
        }

        /// Whether the declared action named `action` reads or writes; `None` for an action
        /// that is not declared.
        pub fn class_of(action: &str) -> Option<$crate::actions::declare::Class> {
            match action {
                $( $wire_name => Some(<$crate::__emulated!($name $(, $s)?) as $crate::actions::Action>::CLASS), )*
                _ => None,
            }
        }

        /// Parses a request for `action` and hands it to the handler's method for it; `None`
        /// for an action that is not declared.
        pub fn dispatch<H: Handler>(
            handler: &mut H,
            action: &str,
            wire: $crate::actions::WireParams<'_>,
            ctx: &H::Context,
        ) -> Option<Result<H::Output, H::Error>> {
            Some(match action {
                $(
                    $wire_name => match <$crate::__emulated!($name $(, $s)?)>::from_wire(wire) {
                        Ok(request) => handler.$method(request, ctx),
                        Err(err) => Err(err.into()),
                    },
                )*
                _ => return None,
            })
        }
    };
}

/// The type of a request's secrets: its parameter, or [`Secret`] for a request without any.
#[doc(hidden)]
#[macro_export]
macro_rules! __secret_type {
    () => {
        $crate::Secret
    };
    ($s:ident) => {
        $s
    };
}

/// A request's secrets as `&S` of the enclosing [`Request<S>`](crate::actions::Request).
#[doc(hidden)]
#[macro_export]
macro_rules! __secrets_as {
    ($request:ident) => {{
        let _ = $request;
        Vec::new()
    }};
    ($request:ident, $s:ident) => {
        $request.secrets()
    };
}

/// The request type the emulator receives: secrets as [`Secret`]s, so they never print.
#[doc(hidden)]
#[macro_export]
macro_rules! __emulated {
    ($name:ident) => {
        $name
    };
    ($name:ident, $s:ident) => {
        $name<$crate::Secret>
    };
}
