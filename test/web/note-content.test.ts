import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { foldWord, markdownHtml } from "../../web/src/views/note-content.js";

/**
 * The first fence of the web app's note rendering, markdown-it as configured there, run without a
 * browser. DOMPurify, the second fence, and the page around it are tested in test/e2e/markdown.test.ts.
 */
describe("note Markdown (markdown-it stage)", () => {
  const render = (content: string, headingLevel = 3) => markdownHtml(content, headingLevel);

  test("CommonMark: emphasis, lists, code, links; a single line break stays a break", () => {
    assert.equal(render("Some **bold** and _slanted_"), "<p>Some <strong>bold</strong> and <em>slanted</em></p>");
    assert.equal(render("- a\n- b"), "<ul>\n<li>a</li>\n<li>b</li>\n</ul>");
    assert.equal(render("Run `x < y`"), "<p>Run <code>x &lt; y</code></p>");
    assert.equal(render("```\n<b>\n```"), "<pre><code>&lt;b&gt;\n</code></pre>");
    assert.equal(render("one\ntwo"), "<p>one<br />\ntwo</p>");
    assert.equal(render("[docs](https://example.com/a?b=1)"), '<p><a href="https://example.com/a?b=1">docs</a></p>');
    assert.equal(render("<https://example.com>"), '<p><a href="https://example.com">https://example.com</a></p>');
    assert.equal(render("[mail](mailto:a@example.com)"), '<p><a href="mailto:a@example.com">mail</a></p>');
    assert.equal(render("[here](/people/1)"), '<p><a href="/people/1">here</a></p>');
  });

  test("typed HTML is text, never markup", () => {
    assert.equal(render("<img src=x onerror=alert(1)>"), "<p>&lt;img src=x onerror=alert(1)&gt;</p>");
    assert.equal(render("<script>alert(1)</script>"), "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
    assert.equal(
      render('<a href="javascript:alert(1)">x</a>'),
      "<p>&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;</p>",
    );
  });

  test("links with any scheme but http, https and mailto stay literal text", () => {
    for (const content of [
      "[x](javascript:alert(1))",
      "[x](JAVASCRIPT:alert(1))",
      "[x](vbscript:msgbox(1))",
      "[x](data:text/html,hi)",
      "[x](file:///etc/passwd)",
      "<javascript:alert(1)>",
      "![x](data:image/png;base64,AAAA)",
      "[x][r]\n\n[r]: javascript:alert(1)",
    ]) {
      assert.doesNotMatch(render(content), /<a |<img /, content);
    }
  });

  test("an image is a link to its address, never an img", () => {
    assert.equal(
      render("![a picture](https://example.com/p.png)"),
      '<p><a href="https://example.com/p.png">a picture</a></p>',
    );
    assert.equal(
      render("![](https://example.com/p.png)"),
      '<p><a href="https://example.com/p.png">https://example.com/p.png</a></p>',
    );
    assert.equal(render('![x"><b>](/a.png)'), '<p><a href="/a.png">x&quot;&gt;&lt;b&gt;</a></p>');
  });

  test("headings start at the level given, and never go past h6", () => {
    assert.equal(render("# A\n\n## B", 3), "<h3>A</h3>\n<h4>B</h4>");
    assert.equal(render("# A", 2), "<h2>A</h2>");
    assert.equal(render("###### F", 3), "<h6>F</h6>");
    // Never an h1, whatever the level asked for.
    assert.equal(render("# A", 1), "<h2>A</h2>");
  });

  test("words fold as search compares them", () => {
    assert.equal(foldWord("Café"), "cafe");
    assert.equal(foldWord("MÜLLER"), "muller");
  });
});
