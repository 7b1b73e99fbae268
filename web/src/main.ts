// The app's entry: routes the hash to a page, and asks for a token when the API wants one.

import "uplot/dist/uPlot.min.css";
import "./style.css";
import { UNAUTHORIZED_EVENT, setToken } from "./api";
import { comparePage } from "./compare";
import { h, replace } from "./dom";
import type { Page } from "./page";
import { currentRoute } from "./router";
import { runPage } from "./run";
import { runsPage } from "./runs";

const main = document.getElementById("main") as HTMLElement;
let page: Page | null = null;

function render(): void {
  page?.stop();
  const route = currentRoute();
  if (route.page === "run") page = runPage(main, route.runId, route.query);
  else if (route.page === "compare") page = comparePage(main, route.query);
  else page = runsPage(main, route.query);
}

function askForToken(): void {
  page?.stop();
  const input = h("input", { type: "password", name: "token", autocomplete: "off", required: true, id: "token" });
  const form = h("form", { class: "token-form" },
    h("h1", null, "This collector needs a token"),
    h("p", null, "Enter the collector's bearer token. It is kept in this tab only (session storage)."),
    h("label", { for: "token" }, "Token"), input,
    h("button", { type: "submit", class: "primary" }, "Continue"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    render();
  });
  replace(main, form);
  input.focus();
}

window.addEventListener("hashchange", render);
// Pages report errors in place; a 401 from any API call means the token is missing or wrong.
window.addEventListener(UNAUTHORIZED_EVENT, () => {
  if (!main.querySelector(".token-form")) askForToken();
});
render();
