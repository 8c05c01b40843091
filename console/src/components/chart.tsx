// A Chart.js canvas bound to a Preact component; the chart is rebuilt when its
// data changes (the pages redraw at most every few seconds).
import { useEffect, useRef } from 'preact/hooks';
import { BarController, BarElement, CategoryScale, Chart, DoughnutController, ArcElement,
         Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
         type ChartConfiguration } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement,
               PointElement, DoughnutController, ArcElement, Legend, Tooltip);

export const PALETTE = ['#c0392b', '#e67e22', '#f1c40f', '#3498db', '#8e44ad', '#16a085', '#7f8c8d', '#2c3e50'];

export function ChartView({ config, label }: { config: ChartConfiguration; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    // No animation: charts are drawn once per refresh and screenshots are deterministic.
    const chart = new Chart(ref.current, { ...config, options: { animation: false, maintainAspectRatio: false, ...config.options } });
    return () => chart.destroy();
  }, [JSON.stringify(config.data)]);
  return <div class="chart" data-chart={label}><canvas ref={ref} aria-label={label} role="img" /></div>;
}

const MAX_LABEL = 34;  // characters of a category label on an axis (the tooltip has it whole)

export function barConfig(labels: string[], values: number[], name: string, horizontal = false): ChartConfiguration {
  const ticks = { callback: (_v: unknown, i: number) => {
    const l = labels[i] ?? '';
    return l.length > MAX_LABEL ? l.slice(0, MAX_LABEL - 1) + '…' : l;
  } };
  return {
    type: 'bar',
    data: { labels, datasets: [{ label: name, data: values, backgroundColor: PALETTE[3] }] },
    options: { indexAxis: horizontal ? 'y' : 'x', plugins: { legend: { display: false } },
               scales: { [horizontal ? 'y' : 'x']: { ticks } } },
  };
}
