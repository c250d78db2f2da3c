// A class of an ES module whose source uses import.meta, which only a
// module parses (test/values.ts: its private member must still be found).
export class WithMeta {
  #url = import.meta.url;
  get url(): string { return this.#url; }
}
