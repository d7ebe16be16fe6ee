using System.Text;
using System.Text.Json;

namespace ParallelFlow.Engine.Plans;

/// <summary>Reads JSON text into <see cref="PlanNode"/>s, keeping each value's line and column.</summary>
/// <remarks>Comments and trailing commas are allowed, as in most hand-written configuration.</remarks>
internal static class JsonPlanReader
{
    private static readonly JsonReaderOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 128,
    };

    public static PlanNode Read(string text, string source)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new PlanValidationException([PlanError.Syntax(source, new SourcePosition(1, 1), "the file is empty")]);
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = new LineMap(bytes);
        var reader = new Utf8JsonReader(bytes, Options);
        try
        {
            if (!reader.Read())
            {
                throw new PlanValidationException([PlanError.Syntax(source, new SourcePosition(1, 1), "the file is empty")]);
            }

            var node = ReadValue(ref reader, lines, source, new Utf8StringCache());
            if (reader.Read())
            {
                throw new PlanValidationException([PlanError.Syntax(source, lines.At(reader.TokenStartIndex), "unexpected content after the end of the plan")]);
            }

            return node;
        }
        catch (JsonException ex)
        {
            var position = new SourcePosition((int)(ex.LineNumber ?? 0) + 1, (int)(ex.BytePositionInLine ?? 0) + 1);
            var message = reader.CurrentDepth >= Options.MaxDepth - 1 && ex.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
                ? $"the plan nests lists and objects more than {Options.MaxDepth} levels deep"
                : "malformed JSON: " + FirstSentence(ex.Message);
            throw new PlanValidationException([PlanError.Syntax(source, position, message)]);
        }
    }

    private static PlanNode ReadValue(ref Utf8JsonReader reader, LineMap lines, string source, Utf8StringCache strings)
    {
        var position = lines.At(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var obj = new ObjectNode(position);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var keyPosition = lines.At(reader.TokenStartIndex);
                    var key = StringOf(ref reader, keyPosition, source, strings);
                    reader.Read();
                    obj.Properties.Add(new PropertyNode(key, keyPosition, ReadValue(ref reader, lines, source, strings)));
                }

                return obj;
            case JsonTokenType.StartArray:
                var array = new ArrayNode(position);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    array.Items.Add(ReadValue(ref reader, lines, source, strings));
                }

                return array;
            case JsonTokenType.String:
                return new ScalarNode(position, ScalarKind.String, StringOf(ref reader, position, source, strings));
            case JsonTokenType.Number:
                return new ScalarNode(position, ScalarKind.Number, strings.Get(reader.ValueSpan));
            case JsonTokenType.True:
                return new ScalarNode(position, ScalarKind.Boolean, "true");
            case JsonTokenType.False:
                return new ScalarNode(position, ScalarKind.Boolean, "false");
            default:
                return new ScalarNode(position, ScalarKind.Null, "null");
        }
    }

    /// <summary>A string's value; an escape that makes no character (a lone UTF-16 surrogate such as <c>\ud800</c>) is a
    /// syntax error at the string, as other JSON readers treat it.</summary>
    private static string StringOf(ref Utf8JsonReader reader, SourcePosition position, string source, Utf8StringCache strings)
    {
        try
        {
            return reader.ValueIsEscaped || reader.HasValueSequence ? reader.GetString()! : strings.Get(reader.ValueSpan);
        }
        catch (InvalidOperationException)
        {
            throw new PlanValidationException([PlanError.Syntax(source, position,
                "malformed JSON: the string holds an escape that is not a character (a \\uD800–\\uDFFF surrogate without its pair)")]);
        }
    }

    private static string FirstSentence(string message)
    {
        // System.Text.Json appends its own "LineNumber: … | BytePositionInLine: …" and "Path: …"; the position is
        // already in the error, 1-based.
        foreach (var marker in new[] { " LineNumber:", " Path:" })
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }

        return message.TrimEnd('.', ' ');
    }

    /// <summary>Maps byte offsets to lines and columns (columns count characters, not bytes).</summary>
    /// <remarks>The reader asks for offsets in increasing order, so the column is counted on from the last one asked
    /// on the same line: a plan written on one line of many megabytes costs linear time, not quadratic.</remarks>
    private sealed class LineMap
    {
        private readonly byte[] _bytes;
        private readonly List<int> _lineStarts = [0];
        private int _lastLine = -1;
        private int _lastOffset;
        private int _lastColumn;

        public LineMap(byte[] bytes)
        {
            _bytes = bytes;
            var span = bytes.AsSpan();
            for (var start = 0; ;)
            {
                var next = span[start..].IndexOf((byte)'\n');
                if (next < 0)
                {
                    break;
                }

                start += next + 1;
                _lineStarts.Add(start);
            }
        }

        public SourcePosition At(long position)
        {
            var offset = (int)position;
            int line;
            if (_lastLine >= 0 && offset >= _lastOffset)
            {
                // Offsets come in order: walk on from the last line instead of searching.
                line = _lastLine;
                while (line + 1 < _lineStarts.Count && _lineStarts[line + 1] <= offset)
                {
                    line++;
                }
            }
            else
            {
                var index = _lineStarts.BinarySearch(offset);
                line = index >= 0 ? index : ~index - 1;
            }

            int column;
            if (line == _lastLine && offset >= _lastOffset)
            {
                column = _lastColumn + Encoding.UTF8.GetCharCount(_bytes, _lastOffset, offset - _lastOffset);
            }
            else
            {
                var start = _lineStarts[line];
                column = Encoding.UTF8.GetCharCount(_bytes, start, offset - start) + 1;
            }

            (_lastLine, _lastOffset, _lastColumn) = (line, offset, column);
            return new SourcePosition(line + 1, column);
        }
    }
}
