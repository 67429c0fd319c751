import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

/**
 * A modal confirmation: a native <dialog> opened with showModal() (the
 * browser makes the rest inert and Esc fires `cancel`), with focus kept
 * inside by wrapping Tab at the ends, and returned to the opener on close.
 */
export function ConfirmDialog(props: { title: string; busy: boolean; onConfirm: () => void; onCancel: () => void; children?: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    dialog.querySelector<HTMLButtonElement>("button.cancel")?.focus();
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus?.();
    };
  }, []);
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Escape") {
      event.preventDefault();
      props.onCancel();
      return;
    }
    if (event.key !== "Tab" || !ref.current) return;
    const focusable = [...ref.current.querySelectorAll<HTMLElement>("button:not([disabled]), [href], input, [tabindex]:not([tabindex='-1'])")];
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (!first || !last) return;
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };
  return (
    <dialog
      ref={ref}
      aria-modal="true"
      aria-labelledby="dialog-title"
      onKeyDown={onKeyDown}
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id="dialog-title">{props.title}</h2>
      {props.children}
      <div class="dialog-buttons">
        <button type="button" class="primary" disabled={props.busy} onClick={props.onConfirm}>
          Confirm
        </button>
        <button type="button" class="cancel" disabled={props.busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
