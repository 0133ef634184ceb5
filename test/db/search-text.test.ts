import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { searchText } from "../../src/db/search-text.js";
import { markdownHtml } from "../../web/src/views/note-content.js";

const SAMPLES = [
  "Plain text, as the tutorial wrote it",
  "# Plans for *Monday*\n\nSome **bold** and _slanted_ words.\n\n- first\n- second\n\n> quoted `code`",
  'See [the guide](https://docs.example.org/setup "Setup guide") or [that](handbook)',
  "![a sunset](https://photos.example.org/beach.png) and ![](/local/picture.png)",
  "[x](javascript:alert(1)) [y](data:text/html,hi) <javascript:alert(2)> <https://shown.example.net>",
  "[ref][r] and more\n\n[r]: https://hidden.example.org/path",
  "```js\nconst answer = 42;\n```\n\n    indented code\n\n<img src=x onerror=alert(1)>",
  "line one\nline two  \nline three\\\nline four",
];

/** The words of a text, as search cuts them. */
const words = (text: string) => text.match(/[\p{L}\p{N}\p{M}\p{Co}]+/gu) ?? [];

/** The text the web app shows of its rendered HTML: no tags, entities decoded. */
const shown = (html: string) =>
  html
    .replace(/<[^>]*>/g, " ")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&");

describe("a note's search text", () => {
  test("holds the words a reader sees, not the markup or the addresses behind links", () => {
    assert.equal(searchText("Some **bold**, _slanted_ and `coded` words"), "Some bold, slanted and coded words");
    assert.equal(searchText("## Plans\n\n- one\n- two"), "Plans\none\ntwo");
    assert.equal(
      searchText('See [the guide](https://docs.example.org/setup "Setup guide") or [that](handbook)'),
      "See the guide or that",
    );
    assert.equal(searchText("![a sunset](https://x.example/p.png)"), "a sunset");
    assert.equal(searchText("[ref][r]\n\n[r]: https://hidden.example.org"), "ref");
    // What stays text on the page is searched as text.
    assert.equal(searchText("[x](javascript:alert(1))"), "[x](javascript:alert(1))");
    assert.equal(searchText("<img src=x onerror=alert(1)>"), "<img src=x onerror=alert(1)>");
  });

  test("has the same words as the web app shows", () => {
    for (const content of SAMPLES) {
      assert.deepEqual(words(searchText(content)), words(shown(markdownHtml(content, 3))), content);
    }
  });
});
