//! The event loop of each system.
//!
//! Linux (ksni over D-Bus) needs no GUI loop: the tray thread blocks on a
//! channel. Windows and macOS need a native message loop on the main thread,
//! which winit provides; tray and menu events are forwarded into it.

use std::process::ExitCode;

use tray_icon::TrayIconEvent;
use tray_icon::menu::MenuEvent;

use cpa_core::instance::Instance;

use crate::app::{Controller, Event, EventSink, TrayOptions};

/// Returns whether a tray icon event means "activate" (left click on Linux,
/// double click on Windows, as the original's double click).
fn is_activation(event: &TrayIconEvent) -> bool {
    match event {
        #[cfg(target_os = "linux")]
        TrayIconEvent::Click {
            button: tray_icon::MouseButton::Left,
            ..
        } => true,
        TrayIconEvent::DoubleClick {
            button: tray_icon::MouseButton::Left,
            ..
        } => true,
        _ => false,
    }
}

/// Turns pokes from a second tray into [`Event::Poke`].
fn forward_pokes(instance: Option<&mut Instance>, sink: &EventSink) {
    let Some(instance) = instance else { return };
    let sink = sink.clone();
    if let Err(err) = instance.serve_pokes(move || sink(Event::Poke)) {
        crate::notify::log(&format!("failed to listen for a second tray: {err}"));
    }
}

fn forward_tray_events(sink: &EventSink) {
    let menu_sink = sink.clone();
    MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
        menu_sink(Event::Menu(event.id.0));
    }));
    let icon_sink = sink.clone();
    TrayIconEvent::set_event_handler(Some(move |event: TrayIconEvent| {
        if is_activation(&event) {
            icon_sink(Event::Activate);
        }
    }));
}

#[cfg(any(windows, target_os = "macos"))]
fn start_status_checks(sink: EventSink) {
    let spawned = std::thread::Builder::new()
        .name("tray-status-check".into())
        .spawn(move || {
            loop {
                std::thread::sleep(crate::app::STATUS_CHECK_INTERVAL);
                sink(Event::StatusCheck);
            }
        });
    if let Err(err) = spawned {
        crate::notify::log(&format!("failed to start status checks: {err}"));
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
pub fn run(options: TrayOptions, mut instance: Option<Instance>) -> ExitCode {
    use std::sync::Arc;
    use std::sync::mpsc;

    let (sender, receiver) = mpsc::channel::<Event>();
    let sink: EventSink = Arc::new(move |event| {
        // The receiver only goes away when the tray exits.
        let _ = sender.send(event);
    });
    forward_tray_events(&sink);
    forward_pokes(instance.as_mut(), &sink);
    crate::signals::forward_exit_signals(&sink);
    let mut controller = Controller::new(options, sink);
    controller.create_tray();
    // A quiet period of STATUS_CHECK_INTERVAL triggers the status check, so
    // no extra thread has to wake up for it.
    loop {
        let event = match receiver.recv_timeout(crate::app::STATUS_CHECK_INTERVAL) {
            Ok(event) => event,
            Err(mpsc::RecvTimeoutError::Timeout) => Event::StatusCheck,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        controller.handle(event);
        if controller.should_quit() {
            break;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(any(windows, target_os = "macos"))]
pub fn run(options: TrayOptions, mut instance: Option<Instance>) -> ExitCode {
    use std::sync::Arc;
    use winit::application::ApplicationHandler;
    use winit::event::{StartCause, WindowEvent};
    use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
    use winit::window::WindowId;

    struct App {
        options: Option<TrayOptions>,
        sink: EventSink,
        controller: Option<Controller>,
    }

    impl ApplicationHandler<Event> for App {
        fn new_events(&mut self, _event_loop: &ActiveEventLoop, cause: StartCause) {
            // macOS requires the status item to be created after the loop started.
            if cause == StartCause::Init
                && let Some(options) = self.options.take()
            {
                let mut controller = Controller::new(options, self.sink.clone());
                controller.create_tray();
                self.controller = Some(controller);
            }
        }

        fn resumed(&mut self, _event_loop: &ActiveEventLoop) {}

        fn window_event(&mut self, _: &ActiveEventLoop, _: WindowId, _: WindowEvent) {}

        fn user_event(&mut self, event_loop: &ActiveEventLoop, event: Event) {
            if let Some(controller) = &mut self.controller {
                controller.handle(event);
                if controller.should_quit() {
                    event_loop.exit();
                }
            }
        }
    }

    #[cfg(windows)]
    crate::windows::set_dpi_awareness();
    let event_loop = match EventLoop::<Event>::with_user_event().build() {
        Ok(event_loop) => event_loop,
        Err(err) => {
            crate::notify::log(&format!("failed to create the event loop: {err}"));
            return ExitCode::FAILURE;
        }
    };
    event_loop.set_control_flow(ControlFlow::Wait);
    let proxy = event_loop.create_proxy();
    let sink: EventSink = Arc::new(move |event| {
        let _ = proxy.send_event(event);
    });
    forward_tray_events(&sink);
    forward_pokes(instance.as_mut(), &sink);
    crate::signals::forward_exit_signals(&sink);
    start_status_checks(sink.clone());
    let mut app = App {
        options: Some(options),
        sink,
        controller: None,
    };
    match event_loop.run_app(&mut app) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            crate::notify::log(&format!("the event loop failed: {err}"));
            ExitCode::FAILURE
        }
    }
}
