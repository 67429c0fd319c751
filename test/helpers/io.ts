import { Writable } from "node:stream";

/** A Writable that keeps what is written to it. */
export function capture(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, next) {
      chunks.push(String(chunk));
      next();
    },
  });
  return { stream, text: () => chunks.join("") };
}

/** stdout/stderr pair for running the CLI's `main` in-process. */
export function captureIo(): { stdout: Writable; stderr: Writable; out(): string; err(): string } {
  const out = capture();
  const err = capture();
  return { stdout: out.stream, stderr: err.stream, out: out.text, err: err.text };
}
