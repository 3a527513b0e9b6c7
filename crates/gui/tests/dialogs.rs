//! Dialog logic without a window: egui_kittest drives the forms through
//! their AccessKit tree (labels, roles, focus, key presses), as a screen
//! reader or a user would.

use cpa_core::messages::Lang;
use cpa_gui::dialog::forms::{Choice, ChoiceForm, ConfirmForm, ConfirmQuestion, ProgressForm};
use cpa_gui::dialog::password::{Mode, Outcome, PasswordForm};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

struct PasswordState {
    form: PasswordForm,
    outcome: Option<Outcome>,
}

fn password_harness(lang: Lang, mode: Mode) -> Harness<'static, PasswordState> {
    password_harness_with_min(lang, mode, 8)
}

fn password_harness_with_min(
    lang: Lang,
    mode: Mode,
    min_bytes: usize,
) -> Harness<'static, PasswordState> {
    let state = PasswordState {
        form: PasswordForm::new(lang, mode).with_min_bytes(min_bytes),
        outcome: None,
    };
    // The bundled fonts have no CJK glyphs; the real window falls back to
    // system fonts, and the Xvfb screenshots show that rendering.
    let mut builder = Harness::builder();
    if lang == Lang::ZhCn {
        builder = builder.allow_missing_glyphs();
    }
    let mut harness = builder.build_ui_state(
        |ui, state: &mut PasswordState| {
            if let Some(outcome) = state.form.ui(ui) {
                state.outcome = Some(outcome);
            }
        },
        state,
    );
    harness.run();
    harness
}

fn ok_disabled(harness: &Harness<'_, PasswordState>, label: &str) -> bool {
    harness.get_by_label(label).accesskit_node().is_disabled()
}

/// Returns whether the rule check box labelled `label` is ticked.
fn rule_passed(harness: &Harness<'_, PasswordState>, label: &str) -> bool {
    let node = harness.get_by_role_and_label(Role::CheckBox, label);
    node.accesskit_node().toggled() == Some(egui::accesskit::Toggled::True)
}

fn type_into(harness: &mut Harness<'_, PasswordState>, field: &str, text: &str) {
    harness
        .get_by_role_and_label(Role::PasswordInput, field)
        .focus();
    harness.run();
    harness
        .get_by_role_and_label(Role::PasswordInput, field)
        .type_text(text);
    harness.run();
}

#[test]
fn first_run_password_accepts_on_enter() {
    let mut harness = password_harness(Lang::En, Mode::FirstRun);
    harness.get_by_label_contains("config.yaml secret-key is empty.");
    harness.get_by_label_contains("Please enter a password:");
    assert!(ok_disabled(&harness, "OK"), "OK must start disabled");

    let password = harness.get_by_role_and_label(Role::PasswordInput, "Password");
    assert!(password.is_focused(), "focus starts in the password field");
    harness.get_by_role_and_label(Role::PasswordInput, "Confirm");

    type_into(&mut harness, "Password", "abc");
    assert!(!rule_passed(&harness, "8 to 72 bytes (now 3)"));
    harness.get_by_label_contains("too short");
    assert!(ok_disabled(&harness, "OK"));

    type_into(&mut harness, "Password", "def123");
    assert!(rule_passed(&harness, "8 to 72 bytes (now 9)"));
    assert!(rule_passed(
        &harness,
        "Printable ASCII only: letters, digits, punctuation, inner spaces"
    ));
    assert!(!rule_passed(&harness, "Both entries match"));
    assert!(ok_disabled(&harness, "OK"), "confirmation still missing");

    type_into(&mut harness, "Confirm", "abcdef123");
    assert!(rule_passed(&harness, "Both entries match"));
    assert!(!ok_disabled(&harness, "OK"), "OK enabled once valid");
    assert_eq!(harness.state().outcome, None);

    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(
        harness.state().outcome,
        Some(Outcome::Accepted("abcdef123".into()))
    );
}

#[test]
fn ok_click_accepts_valid_password() {
    let mut harness = password_harness(Lang::En, Mode::Reset);
    type_into(&mut harness, "Password", "correct horse");
    type_into(&mut harness, "Confirm", "correct horse");
    harness.get_by_label("OK").click();
    harness.run();
    assert_eq!(
        harness.state().outcome,
        Some(Outcome::Accepted("correct horse".into()))
    );
}

#[test]
fn non_ascii_password_is_rejected() {
    let mut harness = password_harness(Lang::En, Mode::Reset);
    type_into(&mut harness, "Password", "pässwörd1");
    type_into(&mut harness, "Confirm", "pässwörd1");
    assert!(
        rule_passed(&harness, "8 to 72 bytes (now 11)"),
        "bytes, not characters"
    );
    assert!(!rule_passed(
        &harness,
        "Printable ASCII only: letters, digits, punctuation, inner spaces"
    ));
    assert!(ok_disabled(&harness, "OK"));
}

#[test]
fn remote_minimum_shown_and_enforced() {
    let mut harness = password_harness_with_min(Lang::En, Mode::Reset, 12);
    type_into(&mut harness, "Password", "Short-p1");
    type_into(&mut harness, "Confirm", "Short-p1");
    assert!(!rule_passed(&harness, "12 to 72 bytes (now 8)"));
    assert!(rule_passed(&harness, "Both entries match"));
    harness.get_by_label_contains("Remote management is on in config.yaml");
    assert!(ok_disabled(&harness, "OK"), "8 bytes while remote is on");
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(harness.state().outcome, None);

    type_into(&mut harness, "Password", "-xyz");
    type_into(&mut harness, "Confirm", "-xyz");
    assert!(rule_passed(&harness, "12 to 72 bytes (now 12)"));
    assert!(!ok_disabled(&harness, "OK"), "OK enabled at 12 bytes");
    harness.get_by_label("OK").click();
    harness.run();
    assert_eq!(
        harness.state().outcome,
        Some(Outcome::Accepted("Short-p1-xyz".into()))
    );
}

#[test]
fn enter_does_nothing_while_invalid() {
    let mut harness = password_harness(Lang::En, Mode::Reset);
    type_into(&mut harness, "Password", "short");
    harness.key_press(egui::Key::Enter);
    harness.run();
    assert_eq!(harness.state().outcome, None);
}

#[test]
fn escape_cancels_password() {
    let mut harness = password_harness(Lang::En, Mode::Reset);
    harness.get_by_label("Enter new password (secret-key):");
    harness.key_press(egui::Key::Escape);
    harness.run();
    assert_eq!(harness.state().outcome, Some(Outcome::Cancelled));
}

#[test]
fn cancel_button_cancels_password() {
    let mut harness = password_harness(Lang::En, Mode::FirstRun);
    harness.get_by_label("Cancel").click();
    harness.run();
    assert_eq!(harness.state().outcome, Some(Outcome::Cancelled));
}

#[test]
fn show_unmasks_both_fields() {
    let mut harness = password_harness(Lang::En, Mode::Reset);
    assert_eq!(harness.get_all_by_role(Role::PasswordInput).count(), 2);
    harness.get_by_label("Show").click();
    harness.run();
    assert_eq!(harness.query_all_by_role(Role::PasswordInput).count(), 0);
    assert_eq!(harness.get_all_by_role(Role::TextInput).count(), 2);
}

#[test]
fn chinese_reset_wording() {
    let harness = password_harness(Lang::ZhCn, Mode::Reset);
    harness.get_by_label("输入新密码（secret-key）：");
    harness.get_by_role_and_label(Role::PasswordInput, "密码");
    harness.get_by_role_and_label(Role::PasswordInput, "确认密码");
    harness.get_by_label("显示");
    harness.get_by_label("取消");
    assert!(ok_disabled(&harness, "确定"));
    assert!(!rule_passed(&harness, "8 到 72 字节（当前 0）"));
}

#[test]
fn chinese_first_run_wording() {
    let harness = password_harness(Lang::ZhCn, Mode::FirstRun);
    harness.get_by_label_contains("config.yaml 的 secret-key 为空。");
    harness.get_by_label_contains("请输入密码：");
}

struct ConfirmState {
    form: ConfirmForm,
    answer: Option<bool>,
}

fn confirm_harness(lang: Lang) -> Harness<'static, ConfirmState> {
    let state = ConfirmState {
        form: ConfirmForm::new(lang, ConfirmQuestion::RestartNow),
        answer: None,
    };
    let mut builder = Harness::builder();
    if lang == Lang::ZhCn {
        builder = builder.allow_missing_glyphs();
    }
    let mut harness = builder.build_ui_state(
        |ui, state: &mut ConfirmState| {
            if let Some(answer) = state.form.ui(ui) {
                state.answer = Some(answer);
            }
        },
        state,
    );
    harness.run();
    harness
}

#[test]
fn confirm_yes_no_and_keys() {
    let mut harness = confirm_harness(Lang::En);
    harness.get_by_label("Restart CLIProxyAPI now to use the new password?");
    harness.get_by_label("No").click();
    harness.run();
    assert_eq!(harness.state().answer, Some(false));

    let mut harness = confirm_harness(Lang::ZhCn);
    harness.get_by_label("现在重启 CLIProxyAPI 以使用新密码吗？");
    harness.get_by_label("是").click();
    harness.run();
    assert_eq!(harness.state().answer, Some(true));

    let mut harness = confirm_harness(Lang::En);
    harness.key_press(egui::Key::Escape);
    harness.run();
    assert_eq!(harness.state().answer, Some(false));
}

#[test]
fn progress_cancel_reports_cancel() {
    struct State {
        form: ProgressForm,
        exit: Option<u8>,
    }
    let mut harness = Harness::new_ui_state(
        |ui, state: &mut State| {
            if let Some(code) = state.form.ui(ui) {
                state.exit = Some(code);
            }
        },
        State {
            form: ProgressForm::new(Lang::En),
            exit: None,
        },
    );
    harness.run();
    harness.get_by_label("Preparing download...");
    harness.get_by_label("Cancel").click();
    harness.run();
    assert_eq!(harness.state().exit, Some(cpa_gui::dialog::EXIT_CANCELLED));
}

fn choice_harness(third: Option<&str>) -> Harness<'static, (ChoiceForm, Option<Choice>)> {
    let form = ChoiceForm::new(
        Lang::En,
        "No CLIProxyAPI is installed yet. Which server should the tray start?".into(),
        "Download CLIProxyAPI v6.9.1 (linux/amd64, 12.5 MB)".into(),
        "Use the built-in engine".into(),
    )
    .with_third(third.map(str::to_string));
    let mut harness = Harness::new_ui_state(
        |ui, (form, answer): &mut (ChoiceForm, Option<Choice>)| {
            if let Some(choice) = form.ui(ui) {
                *answer = Some(choice);
            }
        },
        (form, None),
    );
    harness.run();
    harness
}

#[test]
fn choice_third_button_only_when_set() {
    let path_label = "Use /usr/local/bin/cli-proxy-api (found on PATH)";
    let mut harness = choice_harness(Some(path_label));
    harness.get_by_label(path_label).click();
    harness.run();
    assert_eq!(harness.state().1, Some(Choice::Third));

    let mut harness = choice_harness(Some(path_label));
    harness.get_by_label("Use the built-in engine").click();
    harness.run();
    assert_eq!(harness.state().1, Some(Choice::Second));

    let harness = choice_harness(None);
    let buttons = harness.get_all_by_role(Role::Button).count();
    assert_eq!(buttons, 3, "download, built-in and Cancel");
    assert!(harness.query_by_label(path_label).is_none());
}
