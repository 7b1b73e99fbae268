// A dedicated worker that lays graphs out, so a big graph never freezes the page.

import { layoutGraph, type LayoutRequest } from "./layout";

self.onmessage = (event: MessageEvent<LayoutRequest>) => {
  self.postMessage(layoutGraph(event.data));
};
