//! A broker URL checked before any connection: `nats://[USER[:PASSWORD]@]HOST[:PORT]`, and the
//! form of it that is safe to print, with the password (or token) hidden.

use super::error::BrokerError;

/// The port a NATS server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4222;

/// A checked broker URL. `Display` prints the redacted form; [`BrokerUrl::secret`] the real one.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// `nats://HOST:PORT`, no credentials.
    address: String,
    shown: String,
    /// `USER:PASSWORD` as (USER, PASSWORD), or a token alone as (TOKEN, None).
    credentials: Option<(String, Option<String>)>,
    /// The password or token, to scrub from the client's own error messages.
    secret: Option<String>,
}

impl std::fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BrokerUrl({})", self.shown)
    }
}

impl std::fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl BrokerUrl {
    /// Checks `text` and keeps it; every problem is an error naming the redacted URL.
    pub fn parse(text: &str) -> Result<BrokerUrl, BrokerError> {
        let text = text.trim();
        let fail = |why: &str| BrokerError::Url {
            url: redact(text),
            why: why.to_string(),
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(fail("it has no scheme"));
        };
        if !scheme.eq_ignore_ascii_case("nats") {
            return Err(fail(&format!(
                "the scheme is '{scheme}', and msgwork speaks only plain nats://"
            )));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(fail("a NATS URL has no path, query or fragment"));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, rest),
        };
        if let Some(user) = userinfo
            && user.is_empty()
        {
            return Err(fail("there is an '@' with no user before it"));
        }
        let (host, port) = split_host_port(hostport).map_err(|why| fail(&why))?;
        if host.is_empty() {
            return Err(fail("the host is missing"));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("the host has a blank or control character in it"));
        }
        let secret = userinfo.map(|u| match u.split_once(':') {
            Some((_, password)) => password.to_string(),
            None => u.to_string(),
        });
        let port = port.unwrap_or(DEFAULT_PORT);
        let shown = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, _)) => format!("nats://{user}:***@{host}:{port}"),
                None => format!("nats://***@{host}:{port}"),
            },
            None => format!("nats://{host}:{port}"),
        };
        let credentials = userinfo.map(|u| match u.split_once(':') {
            Some((user, password)) => (user.to_string(), Some(password.to_string())),
            None => (u.to_string(), None),
        });
        Ok(BrokerUrl {
            address: format!("nats://{host}:{port}"),
            shown,
            credentials,
            secret: secret.filter(|s| !s.is_empty()),
        })
    }

    /// `nats://HOST:PORT`, without credentials.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The user and password, or the token alone, for the client only; never print them.
    pub fn credentials(&self) -> Option<(&str, Option<&str>)> {
        self.credentials
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.as_deref()))
    }

    /// The URL with its credentials, for a child process of the run to connect with over a
    /// private pipe; never print it.
    pub fn with_credentials(&self) -> String {
        let host = self
            .address
            .strip_prefix("nats://")
            .unwrap_or(&self.address);
        match &self.credentials {
            Some((user, Some(password))) => format!("nats://{user}:{password}@{host}"),
            Some((token, None)) => format!("nats://{token}@{host}"),
            None => self.address.clone(),
        }
    }

    /// `text` with the password or token replaced by `***`, for messages that quote the client.
    pub fn scrub(&self, text: &str) -> String {
        match &self.secret {
            Some(secret) => text.replace(secret.as_str(), "***"),
            None => text.to_string(),
        }
    }
}

/// `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT`.
fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((inner, after)) = v6.split_once(']') else {
            return Err("an IPv6 address opened with '[' is never closed with ']'".into());
        };
        // The brackets stay: the client needs them to tell the address from the port.
        let host = &hostport[..inner.len() + 2];
        if after.is_empty() {
            return Ok((host, None));
        }
        let Some(port) = after.strip_prefix(':') else {
            return Err(format!(
                "'{after}' follows the IPv6 address; expected ':PORT'"
            ));
        };
        (host, Some(port))
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(format!("the port '{p}' is not a number from 1 to 65535"));
            }
            Ok(n) => Some(n),
        },
    };
    Ok((host, port))
}

/// A URL someone typed, with anything between `://` and the last `@` hidden but the user name:
/// for messages about a URL too broken to parse.
pub fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return match text.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => text.to_string(),
        };
    };
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}{tail}"),
            None => format!("{scheme}://***@{host}{tail}"),
        },
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_url_keeps_its_credentials_for_the_client_and_hides_them_in_print() {
        let url = BrokerUrl::parse("nats://ann:s3cret@127.0.0.1:4333").unwrap();
        assert_eq!(url.address(), "nats://127.0.0.1:4333");
        assert_eq!(url.credentials(), Some(("ann", Some("s3cret"))));
        assert_eq!(url.to_string(), "nats://ann:***@127.0.0.1:4333");
        assert_eq!(
            format!("{url:?}"),
            "BrokerUrl(nats://ann:***@127.0.0.1:4333)"
        );
        assert_eq!(url.scrub("auth failed for s3cret"), "auth failed for ***");
        let token = BrokerUrl::parse("nats://tok3n@localhost").unwrap();
        assert_eq!(token.to_string(), "nats://***@localhost:4222");
        assert_eq!(token.credentials(), Some(("tok3n", None)));
        // A child process of the run gets the URL whole, and it parses back to the same one.
        for text in [
            "nats://ann:s3cret@127.0.0.1:4333",
            "nats://tok3n@localhost",
            "nats://[::1]",
        ] {
            let url = BrokerUrl::parse(text).unwrap();
            assert_eq!(BrokerUrl::parse(&url.with_credentials()).unwrap(), url);
        }
        assert_eq!(
            BrokerUrl::parse("nats://[::1]:5000/").unwrap().to_string(),
            "nats://[::1]:5000"
        );
    }

    #[test]
    fn every_kind_of_bad_url_is_an_error_that_never_shows_the_password() {
        for (text, why) in [
            ("127.0.0.1:4222", "no scheme"),
            ("http://u:pw@host:80", "scheme is 'http'"),
            ("nats://u:pw@host:99999", "not a number"),
            ("nats://u:pw@host:0", "not a number"),
            ("nats://u:pw@host:abc", "not a number"),
            ("nats://u:pw@:4222", "host is missing"),
            ("nats://u:pw@host/db", "no path"),
            ("nats://u:pw@host?x=1", "no path"),
            ("nats://@host", "no user"),
            ("nats://u:pw@[::1", "never closed"),
            ("nats://u:pw@ho st", "blank"),
        ] {
            let err = BrokerUrl::parse(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
            assert!(!err.contains("pw"), "{text} leaked its password: {err}");
        }
    }
}
