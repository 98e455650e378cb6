//! Pictures of proven values, drawn as inline SVG (no chart library): a line over an area for a
//! [`Series`], and horizontal bars for shares. What is drawn is decided in `tao_wallet::series`;
//! this only draws it.

use tao_wallet::series::Series;
use yew::prelude::*;

/// The chart's drawing box; the browser scales it to the card's width.
const WIDTH: u32 = 600;
const HEIGHT: u32 = 140;
/// Room above and below the line, so its extremes are not cut.
const PAD: u32 = 8;

/// A line-and-area chart of `series`, with the newest value and the range of keys it covers
/// written under it (`show` formats a value with its unit, `key` names the keys).
pub fn line(class: &'static str, series: &Series, key: &str, show: impl Fn(u64) -> String) -> Html {
    let points = series.scaled(WIDTH, HEIGHT - 2 * PAD);
    let (Some(first), Some(last), Some((min, max))) = (series.points().next(), series.last(), series.range())
    else {
        return html! { <p class="muted">{ "No proven samples yet." }</p> };
    };
    let path: Vec<String> = points.iter().map(|(x, y)| format!("{x},{}", y + PAD)).collect();
    let line = path.join(" ");
    let start_x = points.first().map_or(0, |p| p.0);
    let area = format!("{start_x},{HEIGHT} {line} {WIDTH},{HEIGHT}");
    let view_box = format!("0 0 {WIDTH} {HEIGHT}");
    html! {
        <figure class="chart-box">
            <svg class={classes!("chart", class)} viewBox={view_box} preserveAspectRatio="none" role="img">
                <line class="grid" x1="0" y1={PAD.to_string()} x2={WIDTH.to_string()} y2={PAD.to_string()} />
                <line class="grid" x1="0" y1={(HEIGHT - PAD).to_string()} x2={WIDTH.to_string()} y2={(HEIGHT - PAD).to_string()} />
                <polygon class="area" points={area} />
                <polyline class="line" points={line} />
            </svg>
            <figcaption class="legend">
                <span><b>{ show(last.1) }</b>{ format!(" at {key} #{}", last.0) }</span>
                <span>{ format!("low {} · high {}", show(min), show(max)) }</span>
                <span>{ format!("{} proven samples, {key} #{}–#{}", series.len(), first.0, last.0) }</span>
            </figcaption>
        </figure>
    }
}

/// One bar per row: its label, its share (out of 65 535) as the filled part of a track, and the
/// share in percent.
pub fn bars(class: &'static str, rows: &[(String, u16)]) -> Html {
    html! {
        <div class={classes!("bars", class)}>
            { for rows.iter().map(|(label, share)| {
                let style = format!("width: {}%", u32::from(*share) * 100 / 65_535);
                html! {
                    <div class="bar">
                        <span>{ label.clone() }</span>
                        <span class="track"><span class={classes!("fill", class)} {style} /></span>
                        <span class="num">{ crate::widgets::share(*share) }</span>
                    </div>
                }
            }) }
        </div>
    }
}
