//! The tray icon, drawn at run time so no image file has to ship.

/// Side of the square icon in pixels.
pub const SIZE: u32 = 32;

/// Returns RGBA pixels of a filled disc: green while the server runs, grey otherwise.
pub fn rgba(running: bool) -> Vec<u8> {
    let (red, green, blue) = if running {
        (0x2e, 0xa0, 0x43)
    } else {
        (0x80, 0x80, 0x80)
    };
    let center = (SIZE as f32 - 1.0) / 2.0;
    let radius = SIZE as f32 / 2.0 - 1.0;
    let mut pixels = Vec::with_capacity((SIZE * SIZE * 4) as usize);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let distance = ((x as f32 - center).powi(2) + (y as f32 - center).powi(2)).sqrt();
            // One pixel of linear fall-off smooths the edge.
            let alpha = (radius + 0.5 - distance).clamp(0.0, 1.0);
            pixels.extend_from_slice(&[red, green, blue, (alpha * 255.0) as u8]);
        }
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disc_is_opaque_inside_and_clear_at_corners() {
        let pixels = rgba(true);
        assert_eq!(pixels.len(), (SIZE * SIZE * 4) as usize);
        let at = |x: u32, y: u32| &pixels[((y * SIZE + x) * 4) as usize..][..4];
        assert_eq!(at(16, 16), &[0x2e, 0xa0, 0x43, 255]);
        assert_eq!(at(0, 0)[3], 0);
        assert_ne!(rgba(false)[((16 * SIZE + 16) * 4) as usize], 0x2e);
    }
}
