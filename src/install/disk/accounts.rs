//! The user and group database. glibc's first lookup in a process costs about 0.15 ms (it
//! reads nsswitch.conf and tries nscd's socket for every database), a tenth of what a dry
//! run of a small app does on its own. When nsswitch.conf has glibc consult the local files
//! first for a database, an entry found there is glibc's answer too, so those files are read
//! here directly; glibc is asked whenever that is not certain: another first source, a name
//! or id not in the file, a line not read exactly as glibc's files module reads it, a file
//! too large.

use nix::unistd::{Gid, Group, Uid, User};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::sync::OnceLock;

/// A user's entry: what procexport needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// The home directory, as bytes (it need not be UTF-8).
    pub home: OsString,
}

/// The user named `name`: `None` when the database has none.
pub fn user_by_name(name: &str) -> Result<Option<UserEntry>, String> {
    if let Some(found) = from_files(Database::Passwd, |text| user_in(text, Key::Name(name))) {
        return Ok(Some(found));
    }
    User::from_name(name)
        .map(|u| u.map(user_entry))
        .map_err(|e| e.to_string())
}

/// The user with uid `uid`: `None` when the database has none.
pub fn user_by_uid(uid: u32) -> Result<Option<UserEntry>, String> {
    if let Some(found) = from_files(Database::Passwd, |text| user_in(text, Key::Id(uid))) {
        return Ok(Some(found));
    }
    User::from_uid(Uid::from_raw(uid))
        .map(|u| u.map(user_entry))
        .map_err(|e| e.to_string())
}

/// The gid of the group named `name`: `None` when the database has none.
pub fn group_by_name(name: &str) -> Result<Option<u32>, String> {
    if let Some((_, gid)) = from_files(Database::Group, |text| group_in(text, Key::Name(name))) {
        return Ok(Some(gid));
    }
    Group::from_name(name)
        .map(|g| g.map(|g| g.gid.as_raw()))
        .map_err(|e| e.to_string())
}

/// The name of the group with gid `gid`: `None` when the database has none.
pub fn group_by_gid(gid: u32) -> Result<Option<String>, String> {
    if let Some((name, _)) = from_files(Database::Group, |text| group_in(text, Key::Id(gid))) {
        return Ok(Some(name));
    }
    Group::from_gid(Gid::from_raw(gid))
        .map(|g| g.map(|g| g.name))
        .map_err(|e| e.to_string())
}

fn user_entry(user: User) -> UserEntry {
    UserEntry {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir.into_os_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Database {
    Passwd,
    Group,
}

impl Database {
    fn name(self) -> &'static str {
        match self {
            Self::Passwd => "passwd",
            Self::Group => "group",
        }
    }

    fn file(self) -> &'static str {
        match self {
            Self::Passwd => "/etc/passwd",
            Self::Group => "/etc/group",
        }
    }
}

/// Past this size a file is left to glibc, which reads it a line at a time.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// What `find` gives from `database`'s local file, when glibc consults that file first; `None`
/// sends the lookup to glibc.
fn from_files<T>(database: Database, find: impl FnOnce(&[u8]) -> Option<T>) -> Option<T> {
    static FIRST: OnceLock<(bool, bool)> = OnceLock::new();
    let (passwd, group) = *FIRST.get_or_init(|| {
        let conf = read_bounded("/etc/nsswitch.conf").unwrap_or_default();
        (
            files_first(&conf, Database::Passwd.name()),
            files_first(&conf, Database::Group.name()),
        )
    });
    let first = match database {
        Database::Passwd => passwd,
        Database::Group => group,
    };
    if !first {
        return None;
    }
    find(&read_bounded(database.file())?)
}

/// The whole of a small file; `None` when it cannot be read or is larger than
/// `MAX_FILE_BYTES`.
fn read_bounded(path: &str) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    if size > MAX_FILE_BYTES {
        return None;
    }
    // Room for the whole file and the read that finds its end: one read each.
    let mut text = Vec::with_capacity(usize::try_from(size).ok()? + 1);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut text).ok()?;
    (text.len() as u64 <= MAX_FILE_BYTES).then_some(text)
}

/// C's `isspace`, which glibc's parsers skip by.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_start(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(line.len());
    &line[start..]
}

/// True when nsswitch.conf's one line for `database` names `files` first, with no action of
/// its own: an entry the files hold is then glibc's answer. A database given twice, or in
/// another case, is left to glibc.
fn files_first(conf: &[u8], database: &str) -> bool {
    let mut first = None;
    for line in conf.split(|&b| b == b'\n') {
        let line = trim_start(line);
        let line = line.split(|&b| b == b'#').next().unwrap_or_default();
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii_end();
        if !name.eq_ignore_ascii_case(database.as_bytes()) {
            continue;
        }
        if name != database.as_bytes() || first.is_some() {
            return false;
        }
        let mut sources = line[colon + 1..]
            .split(|&b| is_space(b))
            .filter(|s| !s.is_empty());
        let plain_files =
            sources.next() == Some(b"files") && sources.next().is_none_or(|s| !s.starts_with(b"["));
        first = Some(plain_files);
    }
    first.unwrap_or(false)
}

/// What an entry is looked up by.
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Name(&'a str),
    Id(u32),
}

/// The entries of a passwd or group file, as glibc's files module takes them: leading
/// blanks skipped, empty lines and comments left out. Each is split at its colons.
fn entries(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(trim_start)
        .filter(|line| !line.is_empty() && !line.starts_with(b"#"))
}

/// An entry's fields when it has exactly `count` of them, a name that is not NIS's `+`/`-`
/// and no NUL (which ends glibc's line early); else `None`: not certain.
fn fields(entry: &[u8], count: usize) -> Option<Vec<&[u8]>> {
    let fields: Vec<&[u8]> = entry.split(|&b| b == b':').collect();
    let name = fields.first()?;
    let plain = fields.len() == count
        && !name.is_empty()
        && !name.starts_with(b"+")
        && !name.starts_with(b"-")
        && !entry.contains(&0);
    plain.then_some(fields)
}

/// A decimal id as `strtoul` reads a plain one: digits only, within `u32`.
fn id(field: &[u8]) -> Option<u32> {
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Looks `key` up through `entries`, each read by `parse` (`None`: not certain) and matched
/// by `matches`. By name, only the first entry of that name is read; by id, every entry up
/// to the match must read, since glibc skips one it cannot read and an unread one might be
/// glibc's match.
fn lookup<T>(
    text: &[u8],
    key: Key,
    parse: impl Fn(&[u8]) -> Option<T>,
    id_of: impl Fn(&T) -> u32,
) -> Option<T> {
    for entry in entries(text) {
        match key {
            Key::Name(name) => {
                let first_field = entry.split(|&b| b == b':').next().unwrap_or_default();
                if first_field == name.as_bytes() {
                    return parse(entry);
                }
            }
            Key::Id(want) => {
                let found = parse(entry)?;
                if id_of(&found) == want {
                    return Some(found);
                }
            }
        }
    }
    None
}

/// A user in passwd text (`name:password:uid:gid:gecos:home:shell`).
fn user_in(text: &[u8], key: Key) -> Option<UserEntry> {
    let parse = |entry: &[u8]| {
        let f = fields(entry, 7)?;
        Some(UserEntry {
            name: String::from_utf8(f[0].to_vec()).ok()?,
            uid: id(f[2])?,
            gid: id(f[3])?,
            home: OsString::from_vec(f[5].to_vec()),
        })
    };
    lookup(text, key, parse, |user| user.uid)
}

/// A group's name and gid in group text (`name:password:gid:members`).
fn group_in(text: &[u8], key: Key) -> Option<(String, u32)> {
    let parse = |entry: &[u8]| {
        let f = fields(entry, 4)?;
        Some((String::from_utf8(f[0].to_vec()).ok()?, id(f[2])?))
    };
    lookup(text, key, parse, |group| group.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n\
        # a comment\n\
        \n   daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
        app:x:1001:1002:App,,,:/srv/app:/bin/sh\n\
        app:x:2001:2002::/elsewhere:/bin/sh\n";

    fn user(name: &str, uid: u32, gid: u32, home: &str) -> UserEntry {
        UserEntry {
            name: name.to_owned(),
            uid,
            gid,
            home: home.into(),
        }
    }

    #[test]
    fn finds_the_first_entry_of_a_name_or_id() {
        assert_eq!(
            user_in(PASSWD, Key::Name("app")),
            Some(user("app", 1001, 1002, "/srv/app"))
        );
        assert_eq!(
            user_in(PASSWD, Key::Name("daemon")),
            Some(user("daemon", 1, 1, "/usr/sbin"))
        );
        assert_eq!(
            user_in(PASSWD, Key::Id(0)),
            Some(user("root", 0, 0, "/root"))
        );
        assert_eq!(
            user_in(PASSWD, Key::Id(2001)),
            Some(user("app", 2001, 2002, "/elsewhere"))
        );
    }

    #[test]
    fn leaves_to_glibc_what_is_not_certain() {
        // Not in the file: glibc asks the next source.
        assert_eq!(user_in(PASSWD, Key::Name("nobody")), None);
        assert_eq!(user_in(PASSWD, Key::Id(4242)), None);
        // The name's first entry does not read as glibc's would: glibc may take a later one.
        let odd = b"app:x: 1001:1002::/srv/app:/bin/sh\napp:x:7:7::/x:/bin/sh\n";
        assert_eq!(user_in(odd, Key::Name("app")), None);
        // An unread entry before an id's match might be glibc's match.
        assert_eq!(user_in(odd, Key::Id(7)), None);
        // A NIS entry, too many fields, an id past u32, a NUL.
        for text in [
            &b"+app::::::\n"[..],
            b"app:x:1:1::/h:/bin/sh:extra\n",
            b"app:x:4294967296:1::/h:/bin/sh\n",
            b"app:x:1:1::/h\0:/bin/sh\n",
        ] {
            assert_eq!(user_in(text, Key::Name("app")), None, "{text:?}");
        }
        assert_eq!(group_in(b"app:x:12\n", Key::Name("app")), None);
    }

    #[test]
    fn reads_groups() {
        let text = b"root:x:0:\nadm:x:4:syslog,alice\napp:x:1002:\n";
        assert_eq!(
            group_in(text, Key::Name("adm")),
            Some(("adm".to_owned(), 4))
        );
        assert_eq!(
            group_in(text, Key::Id(1002)),
            Some(("app".to_owned(), 1002))
        );
        assert_eq!(group_in(text, Key::Name("wheel")), None);
    }

    #[test]
    fn files_count_only_when_glibc_asks_them_first_and_plainly() {
        let conf = |line: &str| format!("# the default\nhosts: files dns\n{line}\n");
        for (line, first) in [
            ("passwd:         files systemd", true),
            ("passwd: files", true),
            ("  passwd : files   # local first", true),
            ("passwd: files [NOTFOUND=return] systemd", false),
            ("passwd: compat", false),
            ("passwd: sss files", false),
            ("passwd:", false),
            ("PASSWD: files", false),
            ("passwd: files\npasswd: files", false),
        ] {
            assert_eq!(
                files_first(conf(line).as_bytes(), "passwd"),
                first,
                "{line}"
            );
        }
        assert!(!files_first(b"group: files\n", "passwd"));
        assert!(files_first(b"group: files\n", "group"));
    }

    /// The names in a passwd or group file that a lookup can be asked for.
    fn names(text: &[u8]) -> Vec<String> {
        entries(text)
            .filter_map(|entry| entry.split(|&b| b == b':').next())
            .filter_map(|name| std::str::from_utf8(name).ok())
            .filter(|name| {
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            })
            .map(str::to_owned)
            .collect()
    }

    /// On this machine, the lookups give what glibc gives for every account in the local
    /// files, by name and by id (on Debian, whose nsswitch.conf has glibc read the files
    /// first, straight from the files).
    #[test]
    fn agrees_with_glibc_on_this_machines_accounts() {
        let passwd = read_bounded("/etc/passwd").expect("/etc/passwd reads");
        let users = names(&passwd);
        assert!(!users.is_empty(), "no account in /etc/passwd to compare");
        for name in &users {
            let glibc = User::from_name(name).unwrap().map(user_entry);
            assert_eq!(user_by_name(name).unwrap(), glibc, "{name}");
            if let Some(user) = glibc {
                let by_uid = User::from_uid(Uid::from_raw(user.uid)).unwrap();
                assert_eq!(user_by_uid(user.uid).unwrap(), by_uid.map(user_entry));
            }
        }
        let group = read_bounded("/etc/group").expect("/etc/group reads");
        let groups = names(&group);
        assert!(!groups.is_empty(), "no group in /etc/group to compare");
        for name in &groups {
            let glibc = Group::from_name(name).unwrap();
            assert_eq!(
                group_by_name(name).unwrap(),
                glibc.as_ref().map(|g| g.gid.as_raw()),
                "{name}"
            );
            if let Some(group) = glibc {
                let by_gid = Group::from_gid(group.gid).unwrap().map(|g| g.name);
                assert_eq!(group_by_gid(group.gid.as_raw()).unwrap(), by_gid);
            }
        }
    }
}
