// fence-closed: every fenced code block is closed before its container ends.
//
// CommonMark closes a fence only with a line of the same fence characters followed by
// nothing but spaces ("```" alone, not "``` and more" nor "```text"); an unclosed one is
// still valid Markdown, and swallows everything after it into one code block (the README
// once stopped rendering at line 816 that way). No rule of markdownlint's looks for it.
// This one asks the parser markdownlint already runs (micromark) for each fenced block's
// fences: a closed block has two, an opening and a closing one.

/** @type {import("markdownlint").Rule} */
module.exports = {
  names: ["AV001", "fence-closed"],
  description: "Fenced code block is never closed",
  tags: ["code", "av"],
  parser: "micromark",
  function: (params, onError) => {
    const walk = (tokens) => {
      for (const token of tokens) {
        if (token.type === "codeFenced") {
          const fences = token.children.filter((c) => c.type === "codeFencedFence");
          if (fences.length < 2) {
            onError({
              lineNumber: token.startLine,
              detail: "everything after it is code: a closing fence is the fence alone on its line",
              context: params.lines[token.startLine - 1],
            });
          }
        }
        walk(token.children);
      }
    };
    walk(params.parsers.micromark.tokens);
  },
};
