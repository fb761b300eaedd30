import { useEffect, useState } from 'preact/hooks';

/**
 * Whole seconds since `active` became true, updated once a second while it
 * stays true (0 when it is false): the sign of life while a long task runs.
 *
 * Why not a rotating spinner: WebKitGTK without GPU compositing (Xvfb, many
 * VMs and older desktops) repaints the window for every frame of a CSS
 * animation. Measured with `top` during the window test, the spinner under
 * an answer kept the web process at 90–100% of a core, so llama.cpp got 1
 * thread of 2 (BENCHMARKS.md, "Time to the first token"). One repaint a
 * second costs next to nothing.
 */
export function useElapsedSeconds(active: boolean): number {
  const [seconds, setSeconds] = useState(0);
  useEffect(() => {
    setSeconds(0);
    if (!active) return;
    const started = Date.now();
    const timer = setInterval(() => setSeconds(Math.floor((Date.now() - started) / 1000)), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return seconds;
}
