// Starts ReDoc from a file rather than an inline script (Content-Security-Policy). The page gives the schema's
// URL, drf-spectacular's REDOC_UI_SETTINGS, and the nonce ReDoc puts on the styles it generates.
"use strict";
{
  // ReDoc's side menu always shows Redocly's logo from their CDN, whatever the options: the panel loads
  // nothing from another host, so the menu goes without the image (its link text stays).
  // (React sets an image's src both as a property and as an attribute.)
  const fromRedocly = (value) => String(value).startsWith("https://cdn.redoc.ly/");
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      if (!fromRedocly(value)) src.set.call(this, value);
    },
  });
  const setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    if (!(name === "src" && fromRedocly(value))) setAttribute.call(this, name, value);
  };

  const container = document.getElementById("redoc-container");
  const options = { ...JSON.parse(container.dataset.settings), nonce: container.dataset.nonce };
  Redoc.init(container.dataset.specUrl, options, container);
}
