// GraphiQL's markup, mended where axe-core finds serious problems: CodeMirror's hidden textareas get a
// label, and the operation tabs (each a role="tab" holding two buttons, which a tab may not contain)
// become a plain list of buttons. Re-applied whenever GraphiQL re-renders.

/** The label of a CodeMirror textarea, from the GraphiQL pane it sits in. */
function labelOf(textarea: HTMLTextAreaElement): string {
  if (textarea.closest('.graphiql-query-editor')) return 'Query editor';
  if (textarea.closest('.graphiql-response, .result-window')) return 'Response';
  const tool = textarea.closest('.graphiql-editor-tool .graphiql-editor');
  if (tool) return tool.classList.contains('hidden') ? 'Headers editor' : 'Variables editor';
  return 'Editor';
}

function mend(root: HTMLElement): void {
  for (const textarea of root.querySelectorAll<HTMLTextAreaElement>(
    '.CodeMirror textarea:not([aria-label])',
  )) {
    textarea.setAttribute('aria-label', labelOf(textarea));
  }
  for (const tab of root.querySelectorAll('[role="tab"].graphiql-tab')) {
    tab.removeAttribute('role');
    tab.removeAttribute('aria-selected');
  }
  for (const list of root.querySelectorAll('ul[role="tablist"].graphiql-tabs')) {
    list.removeAttribute('role');
  }
}

/** Mends `root` now and after every change GraphiQL makes to it. */
export function mendAccessibility(root: HTMLElement): void {
  mend(root);
  new MutationObserver(() => mend(root)).observe(root, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['role', 'aria-label'],
  });
}
