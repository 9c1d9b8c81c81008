// The thank-you page's "Print the code" button (no inline script: the CSP). Without
// JavaScript the button stays hidden and the browser's own Print prints the slip alone.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
