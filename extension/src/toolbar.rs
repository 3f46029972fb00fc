//! The toolbar button's icon and tooltip for each state. A badge is a few
//! pixels of colour on a 16 px button, easy to miss and silent to a screen
//! reader, so each state that asks something of the person also changes the
//! icon (drawn in `extension/icons/*.svg`, rendered by `scripts/icons.sh`)
//! and the button's title. The badge text stays the one encoding of the
//! state (`popup_state::badge`, and "?" while a web page waits for the
//! person's answer), so the icon cannot disagree with it.

use crate::text;

/// What the toolbar button tells before anyone opens the popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolbarState {
    /// Nothing to do.
    Normal,
    /// Two-factor sign-in is required and not set up yet (badge "!").
    SetupRequired,
    /// This many recovery codes are left, few enough to warn (badge "3").
    CodesLow(u32),
    /// A web app page waits for the person's answer in the popup (badge "?").
    AnswerWaiting,
    /// A 2FA deadline is this many days away, or passed (0), and 2FA is
    /// not set up (badge "5d", issue 14).
    DeadlineSoon(u32),
}

/// The pixel sizes the toolbar asks for (1x and 2x screens).
pub const TOOLBAR_ICON_SIZES: [u32; 2] = [16, 32];

impl ToolbarState {
    /// The state a badge text stands for; anything unknown is `Normal`.
    pub fn from_badge(badge: &str) -> ToolbarState {
        match badge {
            "!" => ToolbarState::SetupRequired,
            "?" => ToolbarState::AnswerWaiting,
            _ => {
                if let Some(days) = badge.strip_suffix('d') {
                    return match days.parse::<u32>() {
                        Ok(days) => ToolbarState::DeadlineSoon(days),
                        Err(_) => ToolbarState::Normal,
                    };
                }
                match badge.parse::<u32>() {
                    Ok(left) => ToolbarState::CodesLow(left),
                    Err(_) => ToolbarState::Normal,
                }
            }
        }
    }

    /// The icon's file name stem in `icons/` (`<stem>-<size>.png`). A page
    /// waiting for an answer keeps the normal icon: the "?" and the title
    /// say it, and nothing is wrong with the person's sign-in.
    pub fn icon(self) -> &'static str {
        match self {
            ToolbarState::Normal | ToolbarState::AnswerWaiting => "icon",
            ToolbarState::SetupRequired | ToolbarState::DeadlineSoon(_) => "icon-setup",
            ToolbarState::CodesLow(_) => "icon-low",
        }
    }

    /// `(size, path)` for `chrome.action.setIcon({path})`, relative to the
    /// extension's root.
    pub fn icon_paths(self) -> Vec<(u32, String)> {
        TOOLBAR_ICON_SIZES
            .iter()
            .map(|size| (*size, format!("icons/{}-{}.png", self.icon(), size)))
            .collect()
    }

    /// The button's tooltip, which screen readers read as its name.
    pub fn title(self) -> String {
        text::toolbar_title(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_badge_has_its_state() {
        assert_eq!(ToolbarState::from_badge(""), ToolbarState::Normal);
        assert_eq!(ToolbarState::from_badge("!"), ToolbarState::SetupRequired);
        assert_eq!(ToolbarState::from_badge("3"), ToolbarState::CodesLow(3));
        assert_eq!(ToolbarState::from_badge("0"), ToolbarState::CodesLow(0));
        assert_eq!(ToolbarState::from_badge("?"), ToolbarState::AnswerWaiting);
        assert_eq!(ToolbarState::from_badge("x"), ToolbarState::Normal);
        assert_eq!(
            ToolbarState::from_badge("5d"),
            ToolbarState::DeadlineSoon(5)
        );
        assert_eq!(
            ToolbarState::from_badge("0d"),
            ToolbarState::DeadlineSoon(0)
        );
        assert_eq!(ToolbarState::from_badge("xd"), ToolbarState::Normal);
    }

    #[test]
    fn setup_and_few_codes_change_the_icon() {
        assert_eq!(
            ToolbarState::SetupRequired.icon_paths(),
            vec![
                (16, "icons/icon-setup-16.png".to_string()),
                (32, "icons/icon-setup-32.png".to_string())
            ]
        );
        assert_eq!(
            ToolbarState::CodesLow(2).icon_paths()[1].1,
            "icons/icon-low-32.png"
        );
        assert_eq!(ToolbarState::Normal.icon_paths()[0].1, "icons/icon-16.png");
        assert_eq!(ToolbarState::AnswerWaiting.icon(), "icon");
    }

    #[test]
    fn the_title_says_the_state_in_words() {
        assert_eq!(ToolbarState::Normal.title(), "dialer-2fa");
        assert_eq!(
            ToolbarState::SetupRequired.title(),
            "dialer-2fa: set up two-factor authentication"
        );
        assert_eq!(
            ToolbarState::CodesLow(1).title(),
            "dialer-2fa: 1 recovery code left"
        );
        assert_eq!(
            ToolbarState::CodesLow(3).title(),
            "dialer-2fa: 3 recovery codes left"
        );
        assert_eq!(
            ToolbarState::AnswerWaiting.title(),
            "dialer-2fa: a web page waits for your answer"
        );
        assert_eq!(
            ToolbarState::DeadlineSoon(5).title(),
            "dialer-2fa: 2FA required in 5 days"
        );
        assert_eq!(
            ToolbarState::DeadlineSoon(0).title(),
            "dialer-2fa: 2FA is required now: set it up"
        );
        assert_eq!(ToolbarState::DeadlineSoon(3).icon(), "icon-setup");
    }

    /// Every icon a state names is one `scripts/icons.sh` renders from an
    /// SVG source in the repository, and is committed.
    #[test]
    fn every_named_icon_is_in_the_repository() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for state in [
            ToolbarState::Normal,
            ToolbarState::SetupRequired,
            ToolbarState::CodesLow(1),
            ToolbarState::AnswerWaiting,
            ToolbarState::DeadlineSoon(3),
        ] {
            assert!(dir.join(format!("icons/{}.svg", state.icon())).is_file());
            for (_, path) in state.icon_paths() {
                assert!(dir.join(&path).is_file(), "{} is missing", path);
            }
        }
    }
}
