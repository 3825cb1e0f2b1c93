/**
 * The explorer's inputs: one image (dropped, pasted, picked with the "Image" file input, or one of the
 * shipped examples a click away) and texts typed one per line, with the prompt template that turns each
 * line into a zero-shot label's prompt. Every control is a native, labelled element, so it is reachable and
 * usable from the keyboard; the drop zone is a button that opens the file picker.
 */
import { h } from '../../view/client/draw.js';

import type { InputImage } from '../result.js';

export type { InputImage } from '../result.js';

export interface InputState {
  image?: InputImage;
  texts: string[];
  template: string;
}

export interface InputsPanel {
  element: HTMLElement;
  state: InputState;
  /** Shows the crop the model saw for the current image (the preview). */
  showCrop(crop: HTMLCanvasElement | null): void;
}

/** Lines of the texts box: trimmed, empty ones dropped, each once. */
export function textLines(value: string): string[] {
  return [...new Set(value.split('\n').map((l) => l.trim()))].filter((l) => l.length > 0);
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * `onChange` runs after every change of the image, the texts (on input, debounced by the caller) or the
 * template; `onError` receives what could not be read (a failed example fetch).
 */
export function inputsPanel(
  initial: { texts: string[]; template: string; examples: string[]; examplesBase: string },
  onChange: (state: InputState) => void,
  onError: (err: unknown) => void,
): InputsPanel {
  const state: InputState = { texts: initial.texts, template: initial.template };
  const setImage = (image: InputImage) => {
    state.image = image;
    name.textContent = image.name;
    onChange(state);
  };
  const fromFile = async (file: File) => setImage({ name: file.name || 'pasted image', bytes: new Uint8Array(await file.arrayBuffer()) });

  const fileInput = h('input', { type: 'file', id: 'image-input', accept: 'image/png,image/jpeg,image/bmp,image/gif,image/tiff' }) as HTMLInputElement;
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) fromFile(file).catch(onError);
  });
  const preview = h('div', { class: 'preview' }, h('span', { class: 'muted' }, 'Drop an image here, paste one, or choose a file'));
  const name = h('span', { class: 'image-name muted' });
  const drop = h(
    'button',
    { type: 'button', class: 'drop', 'aria-label': 'Choose an image (or drop or paste one)', onclick: () => fileInput.click() },
    preview,
  );
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) fromFile(file).catch(onError);
  });
  document.addEventListener('paste', (e) => {
    const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file) fromFile(file).catch(onError);
  });
  const examples = h(
    'div',
    { class: 'examples', role: 'group', 'aria-label': 'Example images' },
    h('span', { class: 'muted' }, 'Examples: '),
    ...initial.examples.map((file) =>
      h(
        'button',
        {
          type: 'button',
          class: 'chip',
          onclick: () =>
            fetchBytes(new URL(file, initial.examplesBase).href)
              .then((bytes) => setImage({ name: file, bytes }))
              .catch(onError),
        },
        file.replace(/\.[^.]*$/, '').replace(/_/g, ' '),
      ),
    ),
  );

  const texts = h('textarea', { id: 'texts', rows: 4, spellcheck: 'false' }, initial.texts.join('\n')) as HTMLTextAreaElement;
  let timer: ReturnType<typeof setTimeout> | undefined;
  texts.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const lines = textLines(texts.value);
      if (lines.join('\n') === state.texts.join('\n')) return;
      state.texts = lines;
      onChange(state);
    }, 400);
  });
  const template = h('input', { type: 'text', id: 'template', value: initial.template }) as HTMLInputElement;
  template.addEventListener('change', () => {
    state.template = template.value;
    onChange(state);
  });

  const element = h(
    'section',
    { class: 'panel inputs', 'aria-labelledby': 'inputs-title' },
    h('h2', { id: 'inputs-title' }, 'Inputs'),
    h(
      'div',
      { class: 'inputs-body' },
      h('div', { class: 'image-input' }, drop, h('label', { for: 'image-input' }, 'Image'), ' ', fileInput, name, examples),
      h(
        'div',
        { class: 'text-input' },
        h('label', { for: 'texts' }, 'Texts'),
        h('span', { class: 'hint' }, ' one per line: each is a zero-shot label, and is embedded as it is'),
        texts,
        h('label', { for: 'template' }, 'Template'),
        h('span', { class: 'hint' }, ' turns a label into its prompt ({} is the label)'),
        template,
      ),
    ),
  );
  return {
    element,
    state,
    showCrop(crop) {
      preview.replaceChildren(crop ?? h('span', { class: 'muted' }, 'Drop an image here, paste one, or choose a file'));
    },
  };
}
