/**
 * Email magic links through SMTP (nodemailer). The link opens a confirmation page rather than
 * signing in on GET: mail scanners fetch links to check them, and would otherwise burn the
 * single-use token before the person clicks.
 */
import nodemailer from 'nodemailer';

/** What sends a sign-in mail; one SMTP connection pool per server. */
export interface SigninMailer {
  send(to: string, link: string): Promise<void>;
  close(): void;
}

/** A mailer over the SMTP server at `url` (smtp:// or smtps://, credentials in the URL). */
export function createSigninMailer(url: string, from: string): SigninMailer {
  const transport = nodemailer.createTransport(url);
  return {
    async send(to, link) {
      await transport.sendMail({
        from,
        to,
        subject: 'Sign in to TwinMCP',
        text:
          `Open this link to sign in to TwinMCP:\n\n${link}\n\n` +
          'It works once, for 15 minutes. If you did not ask to sign in, ignore this mail.\n',
        html:
          `<p>Open this link to sign in to TwinMCP:</p><p><a href="${escapeAttr(link)}">Sign in</a></p>` +
          '<p>It works once, for 15 minutes. If you did not ask to sign in, ignore this mail.</p>',
      });
    },
    close() {
      transport.close();
    },
  };
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** A loose shape check: one @, no spaces, a dot in the domain. SMTP has the final word. */
export function looksLikeEmail(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= 254 &&
    /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(value.trim())
  );
}
