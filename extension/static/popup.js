// Thin loader: the popup is written in Rust (src/popup.rs).
import init, { start_popup } from './pkg/popup.js';

init({ module_or_path: './pkg/popup_bg.wasm' }).then(start_popup);
