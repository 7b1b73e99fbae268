/** A mounted page; `stop` ends its polling when the user navigates away. */
export interface Page {
  stop(): void;
}
