/**
 * The ADF subset opsbook writes (what @opsbook/tracker's `renderAdf` produces): `Comment.body`
 * and `description` are untyped in the Cloud spec, so the fake checks them against this. Shapes
 * follow @atlaskit/adf-schema's full.json (doc_node, paragraph_node, text_node, …), reduced to
 * the nodes opsbook renders.
 */
const mark = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { enum: ['strong', 'em', 'code', 'link'] },
    attrs: { type: 'object', properties: { href: { type: 'string', minLength: 1 } } },
  },
};

const inline = {
  oneOf: [
    {
      type: 'object',
      required: ['type', 'text'],
      additionalProperties: false,
      properties: {
        type: { const: 'text' },
        text: { type: 'string', minLength: 1 },
        marks: {
          type: 'array',
          items: mark,
          // code_inline_node: text marked code carries no other mark but a link (Jira refuses
          // the document otherwise); formatted_text_inline_node has no code mark.
          not: {
            allOf: [
              {
                contains: {
                  type: 'object',
                  required: ['type'],
                  properties: { type: { const: 'code' } },
                },
              },
              {
                contains: {
                  type: 'object',
                  required: ['type'],
                  properties: { type: { enum: ['strong', 'em'] } },
                },
              },
            ],
          },
        },
      },
    },
    {
      type: 'object',
      required: ['type'],
      additionalProperties: false,
      properties: { type: { const: 'hardBreak' } },
    },
    {
      // mention_node: Jira shows the user `id` names (a Cloud accountId) and notifies them.
      type: 'object',
      required: ['type', 'attrs'],
      additionalProperties: false,
      properties: {
        type: { const: 'mention' },
        attrs: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', minLength: 1 },
            text: { type: 'string' },
            accessLevel: { type: 'string' },
            userType: { enum: ['DEFAULT', 'SPECIAL', 'APP'] },
            localId: { type: 'string' },
          },
        },
      },
    },
  ],
};

const node = (type: string, content: unknown, attrs?: unknown, contentRequired = false) => ({
  type: 'object',
  required: contentRequired ? ['type', 'content'] : ['type'],
  additionalProperties: false,
  properties: { type: { const: type }, content, ...(attrs ? { attrs } : {}) },
});

const inlines = { type: 'array', items: { $ref: '#/$defs/inline' } };
const paragraph = node('paragraph', inlines);
const cells = (t: string) =>
  node(
    t,
    { type: 'array', minItems: 1, items: { $ref: '#/$defs/paragraph' } },
    { type: 'object' },
    true,
  );
const listItem = node(
  'listItem',
  { type: 'array', minItems: 1, items: { $ref: '#/$defs/paragraph' } },
  undefined,
  true,
);

export const adfSubsetSchema = {
  $id: 'opsbook-adf-subset',
  type: 'object',
  required: ['type', 'version', 'content'],
  additionalProperties: false,
  properties: {
    type: { const: 'doc' },
    version: { const: 1 },
    content: { type: 'array', items: { $ref: '#/$defs/block' } },
  },
  $defs: {
    inline,
    paragraph,
    block: {
      oneOf: [
        { $ref: '#/$defs/paragraph' },
        node('heading', inlines, {
          type: 'object',
          required: ['level'],
          properties: { level: { type: 'integer', minimum: 1, maximum: 6 } },
        }),
        node(
          'codeBlock',
          {
            type: 'array',
            items: {
              type: 'object',
              required: ['type', 'text'],
              additionalProperties: false,
              properties: { type: { const: 'text' }, text: { type: 'string', minLength: 1 } },
            },
          },
          { type: 'object', properties: { language: { type: 'string' } } },
        ),
        node('bulletList', { type: 'array', minItems: 1, items: listItem }, undefined, true),
        node(
          'orderedList',
          { type: 'array', minItems: 1, items: listItem },
          { type: 'object' },
          true,
        ),
        node(
          'table',
          {
            type: 'array',
            minItems: 1,
            items: node(
              'tableRow',
              {
                type: 'array',
                minItems: 1,
                items: { oneOf: [cells('tableHeader'), cells('tableCell')] },
              },
              undefined,
              true,
            ),
          },
          { type: 'object' },
          true,
        ),
      ],
    },
  },
};
