// Swagger UI at /api/ui/, themed for People & Notes (see src/app.ts). Served from the server, as
// every other file of it: nothing is loaded from outside.

// On a phone the page is as wide as the screen, not a desktop page zoomed out to unreadable text.
const viewport = document.createElement("meta");
viewport.name = "viewport";
viewport.content = "width=device-width, initial-scale=1";
document.head.append(viewport);

// The top bar's logo (the app's mark, put in by @fastify/swagger-ui) becomes the app's name, a
// link back to the app. Swagger UI draws the bar after the page has loaded.
new MutationObserver((_, observer) => {
  const link = document.querySelector("#swagger-ui .topbar-wrapper > a.link");
  const mark = link?.querySelector("img");
  if (!link || !mark) return;
  observer.disconnect();
  mark.alt = "";
  mark.removeAttribute("height");
  const name = document.createElement("span");
  name.className = "brand-name";
  name.textContent = "People & Notes";
  link.append(name);
  link.href = "/";
  link.removeAttribute("target");
}).observe(document.body, { childList: true, subtree: true });

// Opening an operation has Swagger UI resolve its part of the contract: with an OpenAPI 3.1
// contract its resolver reads the whole contract again for each part, half a second or more each
// on a small machine. This plugin resolves the whole contract once, when the first part is asked
// for, and answers every part from that; a different contract (another URL in the top bar) is
// resolved anew.
window.PeopleNotesSwaggerUi = {
  resolveOnce(toolbox) {
    const { resolveSubtree } = SwaggerUIBundle.plugins.SwaggerClient(toolbox).fn;
    let whole = null;
    return {
      fn: {
        async resolveSubtree(spec, path, options) {
          const { baseDoc } = options;
          const source = toolbox.specSelectors.specStr();
          if (whole?.baseDoc !== baseDoc || whole.source !== source) {
            whole = { baseDoc, source, resolved: resolveSubtree(spec, [], options) };
          }
          const { spec: all, errors } = await whole.resolved;
          const within = (fullPath) => path.every((key, index) => fullPath?.[index] === key);
          return {
            spec: path.reduce((node, key) => node?.[key], all),
            errors: (errors ?? []).filter((error) => within(error.fullPath)),
          };
        },
      },
    };
  },
};
