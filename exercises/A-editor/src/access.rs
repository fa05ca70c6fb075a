//! Who may do what with a document: owner, editor, viewer.
//!
//! Every document has one **owner** (who made it) and members with a
//! [`Role`]. The server checks the role of the sender on *every* edit, not
//! once at connection time: demoting a connected editor takes effect on
//! their next edit. A viewer's edit is refused with a clear error and
//! changes nothing. Only the owner changes roles and makes share links; a
//! **share link** carries a role, and whoever opens it becomes a member with
//! that role (never less than the role they had).
//!
//! Tokens (a user's access token, a share link's code) are 128 random bits
//! from the operating system, written in hex: impossible to guess, and
//! compared as whole strings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a member may do, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads, sees the others; edits are refused.
    Viewer,
    /// Reads and edits.
    Editor,
    /// Edits, changes roles, makes share links.
    Owner,
}

impl Role {
    /// Whether this role may edit.
    pub fn can_edit(self) -> bool {
        todo!("Stage 11: who may edit (chapter A-editor, section \"Stage 11: Permissions\")")
    }
}

/// Why an access change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Somebody other than the owner tried to change roles or share.
    #[error("only the document's owner can {what}; you are {role:?}")]
    NotOwner {
        /// What was tried.
        what: &'static str,
        /// Their role (`None`: not a member).
        role: Option<Role>,
    },
    /// The owner cannot be demoted, and nobody else can be made owner.
    #[error("a document has exactly one owner: it cannot be given or taken away")]
    OneOwner,
    /// No share link with that code.
    #[error("this share link is not valid (any more)")]
    UnknownLink,
}

/// The members and share links of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    owner: String,
    members: BTreeMap<String, Role>,
    links: BTreeMap<String, Role>,
}

impl Access {
    /// A document owned by `owner`.
    pub fn new(owner: &str) -> Self {
        Self {
            owner: owner.to_owned(),
            members: BTreeMap::from([(owner.to_owned(), Role::Owner)]),
            links: BTreeMap::new(),
        }
    }

    /// The owner.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// `user`'s role, if a member.
    pub fn role(&self, user: &str) -> Option<Role> {
        self.members.get(user).copied()
    }

    /// Whether `user` may edit now.
    pub fn can_edit(&self, user: &str) -> bool {
        self.role(user).is_some_and(Role::can_edit)
    }

    /// The members and their roles.
    pub fn members(&self) -> &BTreeMap<String, Role> {
        &self.members
    }

    fn owner_only(&self, by: &str, what: &'static str) -> Result<(), AccessError> {
        if by == self.owner {
            Ok(())
        } else {
            Err(AccessError::NotOwner {
                what,
                role: self.role(by),
            })
        }
    }

    /// `by` gives `user` the role `role` (`None`: removes them).
    pub fn set_role(
        &mut self,
        by: &str,
        user: &str,
        role: Option<Role>,
    ) -> Result<(), AccessError> {
        todo!(
            "Stage 11: only the owner changes roles (chapter A-editor, section \"Stage 11: Permissions\")"
        )
    }

    /// `by` makes a share link that grants `role`; returns its code.
    pub fn share(&mut self, by: &str, role: Role) -> Result<String, AccessError> {
        self.owner_only(by, "make share links")?;
        if role == Role::Owner {
            return Err(AccessError::OneOwner);
        }
        let code = token();
        self.links.insert(code.clone(), role);
        Ok(code)
    }

    /// `by` withdraws a share link (who joined with it stays a member).
    pub fn unshare(&mut self, by: &str, code: &str) -> Result<(), AccessError> {
        self.owner_only(by, "withdraw share links")?;
        self.links
            .remove(code)
            .map(|_| ())
            .ok_or(AccessError::UnknownLink)
    }

    /// `user` opened share link `code`: they become a member with its
    /// role, or keep a higher one they had. Returns their role.
    pub fn join(&mut self, user: &str, code: &str) -> Result<Role, AccessError> {
        todo!(
            "Stage 11: a share link's role, never less than one had (chapter A-editor, section \"Stage 11: Permissions\")"
        )
    }
}

/// A new random token: 128 bits from the operating system, in hex.
///
/// # Panics
/// When the operating system has no random numbers to give, which leaves
/// no safe way to make a token.
pub fn token() -> String {
    let mut bytes = [0u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        panic!("the operating system gave no random numbers for a token: {error}");
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
