// Thin loader: the popup is written in Rust (src/popup.rs).
import init, { start_popup } from './pkg/dialer_2fa_extension.js';

init({ module_or_path: './pkg/dialer_2fa_extension_bg.wasm' }).then(start_popup);
