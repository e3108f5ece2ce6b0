/** Host-side token-id handling for the CLIP text tower: validation, one-hot rows, the pooled position. */

/** Token ids as the text model accepts them: one row, several rows, or an Int32Array with its batch size. */
export type TokenIds = readonly number[] | readonly (readonly number[])[] | { data: ArrayLike<number>; batch: number };

/** Ids as rows of equal length; throws naming the row and lengths when they differ. */
export function idRows(ids: TokenIds): number[][] {
  let rows: number[][];
  if (Array.isArray(ids) && ids.length > 0 && Array.isArray(ids[0])) rows = (ids as number[][]).map((r) => [...r]);
  else if (Array.isArray(ids)) rows = [[...(ids as number[])]];
  else {
    const { data, batch } = ids as { data: ArrayLike<number>; batch: number };
    if (!Number.isInteger(batch) || batch < 1 || data.length % batch !== 0) throw new Error(`clip text: ${data.length} ids do not split into ${batch} rows`);
    const len = data.length / batch;
    rows = Array.from({ length: batch }, (_, b) => Array.from({ length: len }, (_, i) => data[b * len + i]!));
  }
  const len = rows[0]!.length;
  rows.forEach((r, b) => {
    if (r.length !== len) throw new Error(`clip text: id rows must have one length; row 0 has ${len}, row ${b} has ${r.length}`);
  });
  return rows;
}

/**
 * The row transformers pools: argmax(ids) (first maximum) for legacy configs with eos_token_id 2,
 * else the first position equal to eos_token_id (0 when there is none, as torch's argmax of all-zeros).
 */
export function pooledIndex(row: readonly number[], eosTokenId: number): number {
  let best = 0;
  if (eosTokenId === 2) {
    for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
    return best;
  }
  const i = row.indexOf(eosTokenId);
  return i < 0 ? 0 : i;
}

/** Flat ids [B·L] after checking every id is inside the vocabulary (errors name row and position). */
export function checkedIds(rows: readonly (readonly number[])[], vocab: number): number[] {
  rows.forEach((r, b) =>
    r.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new Error(`clip text: token id ${id} (row ${b}, position ${i}) is outside the vocabulary [0, ${vocab})`);
    }),
  );
  return rows.flat();
}

/** Flat row index of each sequence's pooled position in the [B·L, D] hidden states. */
export function pooledRows(rows: readonly (readonly number[])[], eosTokenId: number): number[] {
  return rows.map((r, b) => b * r.length + pooledIndex(r, eosTokenId));
}
