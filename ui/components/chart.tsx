import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

/**
 * A uPlot line chart. uPlot styles its canvas through the CSSOM (allowed by
 * the CSP's `style-src 'self'`; it creates no <style> element) and the look
 * comes from app.css plus uPlot.min.css in the bundle. The canvas is hidden
 * from assistive technology; `summary` is its text alternative, both as the
 * figure's aria-label and as visible-to-screen-readers text.
 */
export interface Series {
  readonly label: string;
  readonly color: string;
  /** Dashed lines tell series apart without colour. */
  readonly dash?: number[];
  /** A step line (a count that jumps at each point, such as cumulative ACKs) rather than straight segments. */
  readonly stepped?: boolean;
}

/** The y axes count things (instances, streams): whole-number ticks only. */
const COUNT_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

export function Chart(props: { label: string; summary: string; series: readonly Series[]; data: uPlot.AlignedData; xLabel: string; yLabel: string; time: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = `${props.time}|${props.series.map((s) => s.label).join(",")}`;
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 220,
      scales: { x: { time: props.time } },
      axes: [{ label: props.xLabel }, { label: props.yLabel, incrs: COUNT_INCREMENTS }],
      series: [
        { label: props.xLabel },
        ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, ...(s.dash && { dash: s.dash }), ...(s.stepped && { paths: uPlot.paths.stepped?.({ align: 1 }) }) })),
      ],
    };
    const chart = new uPlot(opts, props.data, el);
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape]);
  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);
  return (
    <figure class="chart" role="img" aria-label={`${props.label}: ${props.summary}`}>
      <div ref={box} aria-hidden="true" />
      <figcaption class="visually-hidden">{props.summary}</figcaption>
    </figure>
  );
}
